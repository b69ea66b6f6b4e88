"""``d2l-optim sweep OPTIMIZER[,OPTIMIZER...] --lr LO:HI:N --seeds N``: many runs as one
batched computation per rule, the sensitivity figure and a table of best values."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from ..files import check_replaceable
from ..rules import RULES, get_rule
from .common import HYPERPARAM_FLAGS, atomic_write_text, names_list

#: looked up once by the CLI before any work (offline: one line, exit 2)
NEEDS_DATA = ('airfoil',)


def parse_values(flag: str, text: str) -> list[float]:
    """``LO:HI:N`` -> N log-spaced values from LO to HI; ``a,b,c`` -> those values as given."""
    text = str(text).strip()
    if ':' in text:
        parts = text.split(':')
        if len(parts) != 3:
            raise ValueError(f"--{flag} {text!r} is malformed; write LO:HI:N (e.g. 1e-4:1:30) "
                             f"or a comma list")
        try:
            lo, hi = float(parts[0]), float(parts[1])
            count = int(parts[2])
        except ValueError:
            raise ValueError(f"--{flag} {text!r} is malformed: LO and HI must be numbers and N an "
                             f"integer (e.g. 1e-4:1:30)") from None
        if not math.isfinite(lo) or lo <= 0:
            raise ValueError(f"--{flag} {text!r}: LO:HI:N is log-spaced, so LO must be a finite "
                             f"number > 0, got {parts[0]}")
        if not math.isfinite(hi):
            raise ValueError(f"--{flag} {text!r}: HI must be a finite number, got {parts[1]}")
        if lo >= hi:
            raise ValueError(f"--{flag} {text!r}: LO must be smaller than HI, got {lo:g} >= {hi:g}")
        if count < 1:
            raise ValueError(f"--{flag} {text!r}: N must be >= 1, got {count}")
        from ..sweeps import MAX_BYTES, MAX_RUNS
        if count > MAX_RUNS:        # before np.geomspace makes them
            raise ValueError(f"--{flag} {text!r}: N = {count} values are more runs than one sweep "
                             f"holds in {MAX_BYTES / 2 ** 30:.0f} GiB (at most {MAX_RUNS}); "
                             f"use fewer values")
        return [float(v) for v in np.geomspace(lo, hi, count)]
    values = []
    for i, item in enumerate(v for v in text.split(',')):
        try:
            values.append(float(item))
        except ValueError:
            raise ValueError(f"--{flag} value {i} {item.strip()!r} is not a number; write "
                             f"LO:HI:N or a comma list such as 0.01,0.1") from None
    return values


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('optimizers', metavar='OPTIMIZER[,OPTIMIZER...]',
                   help=f"one or more of: {', '.join(RULES)}")
    for name in HYPERPARAM_FLAGS:
        p.add_argument(f'--{name}', default=None, metavar='LO:HI:N|a,b,..',
                       help=f'{name} values: N log-spaced from LO to HI, or a comma list '
                            f'(rules that do not take {name} ignore it)')
    p.add_argument('--seeds', type=int, default=3, help='seeds 0..N-1 per grid point (default 3)')
    p.add_argument('--backend', default='numpy', help='numpy (default), torch or jax')
    p.add_argument('--batch-size', type=int, default=10)
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--dtype', default='float32', choices=('float32', 'float64'))
    p.add_argument('--out', default='.', help='folder for the sensitivity figure (default: here)')
    p.add_argument('--json', default=None, help='write every run as JSON to this path')


def grids(optimizers: list[str], flags: dict[str, list[float]]) -> dict[str, dict[str, list[float]]]:
    """Each rule's grid: the flags it takes. A flag no listed rule takes is an error;
    a rule that takes none of the flags runs once per seed at the book's values."""
    from ..sweeps import hyperparams_taken
    rules = [get_rule(o) for o in optimizers]
    for flag in flags:
        if not any(flag in hyperparams_taken(r) for r in rules):
            takes = '; '.join(f"{r.name}: {', '.join('--' + k for k in hyperparams_taken(r) if k in HYPERPARAM_FLAGS)}"
                              for r in rules)
            raise ValueError(f"--{flag} applies to none of {', '.join(r.name for r in rules)} "
                             f"(they take {takes})")
    out = {}
    for r in rules:
        grid = {k: v for k, v in flags.items() if k in hyperparams_taken(r)}
        out[r.name] = grid or {k: [v] for k, v in list(r.defaults.items())[:1]}
    return out


def main(args: argparse.Namespace) -> int:
    from ..plotting import save_figure
    from ..sweeps import format_table, sensitivity_figure, summarize, sweep
    optimizers = names_list(args.optimizers) or []
    if not optimizers:
        raise ValueError(f"no optimizer given; choose from: {', '.join(RULES)}")
    flags = {name: parse_values(name, getattr(args, name)) for name in HYPERPARAM_FLAGS
             if getattr(args, name) is not None}
    if not flags:
        raise ValueError('the grid is empty; give at least one of '
                         f"{', '.join('--' + f for f in HYPERPARAM_FLAGS)}, e.g. --lr 1e-4:1:30")
    if args.seeds < 1:
        raise ValueError(f'--seeds must be >= 1, got {args.seeds}')
    if args.epochs < 1:
        raise ValueError(f'--epochs must be >= 1, got {args.epochs}')
    plan = grids(optimizers, flags)
    from ..sweeps import MAX_BYTES, MAX_RUNS
    if args.seeds > MAX_RUNS:       # before the seed list is built (sweep() sizes the rest)
        raise ValueError(f'--seeds {args.seeds} are more runs than one sweep holds in '
                         f'{MAX_BYTES / 2 ** 30:.0f} GiB (at most {MAX_RUNS}); use fewer seeds')
    png = Path(args.out) / f"sweep-{'-'.join(plan)}-{args.backend}.png"
    check_replaceable(png)          # a user's file of that name: refused before the work
    results = [sweep(name, grid, range(args.seeds), args.backend, args.batch_size, args.epochs,
                     dtype=args.dtype) for name, grid in plan.items()]
    runs = [r for res in results for r in res.runs]
    print(format_table(summarize(runs, next(iter(flags)))))
    wall = sum(r.wall_s for r in results)
    print(f"{len(runs)} runs on {args.backend} in {wall:.2f} s")
    fig = sensitivity_figure(runs, next(iter(flags)))
    save_figure(fig, png)
    print(f'figure: {png}')
    if args.json:
        atomic_write_text(args.json, json.dumps([r for res in results for r in res.to_json()],
                                                indent=2) + '\n')
        print(f'runs: {args.json}')
    return 0
