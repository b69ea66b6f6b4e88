"""``d2l-optim bench``: every backend against hand-written loops, side by side, in one process."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..backend import BACKENDS, installed_backends
from ..data import require
from .common import atomic_write_text, check_out_file, names_list, positive_int

_DEFAULT_OPTIMIZERS = 'rmsprop,adam'
_DEFAULT_BATCHES = '1,10,100,1500'


def _ints(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(',') if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected comma-separated integers, got {text!r}') from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f'batch sizes must be integers >= 1, got {text!r}')
    return values


def _optimizers(text: str) -> list[str]:
    from ..bench.config import HYPERPARAMS
    names = names_list(text) or []
    unknown = [n for n in names if n not in HYPERPARAMS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"the bench times {', '.join(HYPERPARAMS)}; got "
                                         f"{', '.join(unknown) or repr(text)}")
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('--backends', type=names_list, default=None,
                   help=f"comma-separated, from: {', '.join(BACKENDS)} (default: all installed)")
    p.add_argument('--optimizers', type=_optimizers, default=names_list(_DEFAULT_OPTIMIZERS),
                   help=f'comma-separated, from: rmsprop, adam (default: {_DEFAULT_OPTIMIZERS})')
    p.add_argument('--batch-sizes', type=_ints, default=_ints(_DEFAULT_BATCHES),
                   help=f'comma-separated (default: {_DEFAULT_BATCHES})')
    p.add_argument('--repeats', type=positive_int, default=3,
                   help='timed calls per variant after one warm-up, medians reported (default: 3; at most '
                        '2 for TensorFlow and MXNet at batch size 1; cheap cells get more, up to 15)')
    p.add_argument('--quick', action='store_true',
                   help='a tiny run (200 rows, batch 10 and 100, one repeat, no reproduce) to check it works')
    p.add_argument('--no-imports', action='store_true', help='skip the import timings')
    p.add_argument('--no-reproduce', action='store_true', help='skip timing d2l-optim reproduce')
    p.add_argument('--no-sweep', action='store_true', help='skip timing d2l-optim sweep (issue 11 goals)')
    p.add_argument('--torch-compile', action='store_true',
                   help='also time torch.compile as the compiled PyTorch step (a cold first compile takes ~30 s)')
    p.add_argument('--json', default=None, help='write every number as JSON to this path')
    p.add_argument('--markdown', default=None,
                   help='write the results document (e.g. docs/benchmarks.md) to this path')
    p.add_argument('--readme', nargs='?', const='README.md', default=None, metavar='PATH',
                   help='replace the table between the bench markers of this README (default README.md)')
    p.add_argument('--from-json', nargs='+', default=None, metavar='PATH',
                   help='measure nothing: render --markdown/--readme from saved --json reports '
                        '(several are merged: e.g. the NumPy 1 environment and JAX\'s NumPy 2 one)')


def main(args: argparse.Namespace) -> int:
    # here, not above: the parser imports every command, the bench's modules load when it runs
    from .. import bench
    from ..bench import document, tables
    for flag in ('json', 'markdown'):
        check_out_file(getattr(args, flag), f'--{flag}')
    if args.readme and not Path(args.readme).is_file():
        raise ValueError(f'--readme {args.readme}: no such file')
    if args.from_json:      # ratios and goals derived again from the saved samples
        report = bench.from_json(args.from_json)
    else:
        require('airfoil')  # once, before any timing starts
        report = bench.run_bench(_config(args, bench), imports=not args.no_imports,
                                 reproduce=not (args.no_reproduce or args.quick),
                                 import_repeats=1 if args.quick else 3, progress=_progress,
                                 sweeps=not (args.no_sweep or args.quick))
    print(tables.render_text(report), end='')
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=1) + '\n')
        print(f'json: {args.json}')
    if args.markdown:
        atomic_write_text(args.markdown, document.render_markdown(report))
        print(f'markdown: {args.markdown}')
    if args.readme:
        path = Path(args.readme)
        if not path.is_file():
            raise ValueError(f'--readme {path}: no such file')
        text = tables.replace_readme_block(path.read_text(), tables.render_readme_block(report))
        atomic_write_text(path, text)
        print(f'readme: {path}')
    return 0


def _progress(line: str) -> None:
    print(f'bench: {line}', file=sys.stderr, flush=True)


def _config(args: argparse.Namespace, bench) -> 'bench.BenchConfig':
    backends = args.backends or installed_backends()
    if args.quick:
        return bench.BenchConfig.quick(backends, optimizers=args.optimizers, torch_compile=args.torch_compile)
    return bench.BenchConfig(backends=backends, optimizers=args.optimizers, batch_sizes=args.batch_sizes,
                             repeats=args.repeats, max_repeats=max(15, args.repeats),
                             torch_compile=args.torch_compile)
