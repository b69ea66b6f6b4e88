"""``d2l-optim reproduce``: every experiment of 11.1-11.10 on the chosen backends, and a
report against the book's printed numbers (``DIR/report.md``, ``DIR/report.html``, PNGs).
The work is :func:`d2l_optim.reproduce.reproduce`; this module parses and prints."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from ..backend import BACKENDS
from .common import names_list, positive_int, seed_int


def _split(values: Sequence[str] | None) -> list[str] | None:
    """``--backends numpy,torch`` and ``--backends numpy torch`` alike."""
    return names_list(values)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('--backends', nargs='+', default=None, metavar='NAME',
                   help=f"comma- or space-separated, from: {', '.join(BACKENDS)} (default: all installed)")
    p.add_argument('--sections', nargs='+', default=None, metavar='SECTION',
                   help='e.g. 11.3,11.5, 11.10+ (or sensitivity) or 11.11 (default: 11.1 to 11.10 '
                        'and 11.10+, the learning-rate sensitivity beyond the book; 11.11 trains '
                        'LeNet, so it runs only when named)')
    p.add_argument('--epochs', type=int, default=None,
                   help="11.11 only: epochs per run (default: the book's 30; fewer stretch the schedules)")
    p.add_argument('--out', default='out/reproduce', help='folder for report.md, report.html and the PNGs')
    p.add_argument('--json', default=None, help='also write every row as JSON to this path')
    p.add_argument('--seed', type=seed_int, default=0, help='one seed for weights, minibatches and noise')
    p.add_argument('--jobs', type=positive_int, default=None,
                   help='processes running backends side by side (default: one per core, here '
                        f'{os.cpu_count()}); 1 runs everything in one process, for timings '
                        'taken on an otherwise idle machine')
    p.add_argument('--eager', action='store_true',
                   help="run every step eagerly, as the book times it (default: TensorFlow's "
                        'steps traced by tf.function (and JAX jitted), which give the same losses '
                        'to 1e-5)')


def main(args: argparse.Namespace) -> int:
    # here, not above: the parser imports every command, the work's modules load when it runs
    from ..report import summary
    from ..reproduce import reproduce
    command = ('d2l-optim reproduce ' + ' '.join(sys.argv[2:]) if sys.argv[1:2] == ['reproduce']
               else 'reproduce()')
    result = reproduce(_split(args.backends), _split(args.sections), args.out, args.seed, args.json,
                       epochs=args.epochs, eager=args.eager, jobs=args.jobs, command=command)
    s = summary(result['rows'])
    walls = ', '.join(f'{k} {v:.1f} s' for k, v in result['backend_wall'].items())
    for name, why in result['skipped'].items():
        print(f'skipped {name}: {why}', file=sys.stderr)
    for name, why in result.get('unfinished', {}).items():
        print(f'{name} did not finish: {why}; the report keeps the rows that did', file=sys.stderr)
    print(f"{s['rows']} rows: {s['agree']} of {s['checked']} checked agree with the book, "
          f"{s['disagree']} outside, {s['errors']} errors")
    print(f"wall time {result['total_wall']:.1f} s ({walls})")
    md, page = result['paths']
    print(f'report: {md} and {page}')
    return 1 if s['errors'] else 0
