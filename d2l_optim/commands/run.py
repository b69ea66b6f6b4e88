"""``d2l-optim run OPTIMIZER``: the book's scratch training on the airfoil data."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..backend import BACKENDS, COMPILERS, load_backend
from ..files import check_replaceable
from ..rules import get_rule
from .common import (add_training_arguments, check_out_dir, check_out_file, hyperparams_from,
                     write_runs_json)


#: looked up by the CLI before main runs (offline: one line, exit code 2, before any import)
NEEDS_DATA = ('airfoil',)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_training_arguments(p)
    p.add_argument('--backend', default='numpy', help=f"one of: {', '.join(BACKENDS)}")
    p.add_argument('--compile', action='store_true',
                   help=f"trace the training step once (offered on: {', '.join(COMPILERS)})")


def main(args: argparse.Namespace) -> int:
    name, hp = hyperparams_from(args)
    check_out_dir(args.out)
    check_out_file(args.json)
    png = Path(args.out) / f'{name}-{args.backend}.png' if args.out else None
    if png:
        check_replaceable(png)      # a user's file of that name: refused before the work
    d2l = load_backend(args.backend)
    data_iter, feature_dim = d2l.get_data_ch11(args.batch_size)
    rule = get_rule(name)
    fn = getattr(d2l, rule.book_name)
    states = getattr(d2l, rule.init_name)(feature_dim) if rule.n_states else None
    run = d2l.fit_ch11(fn, states, hp, data_iter, feature_dim, args.epochs, seed=args.seed,
                       compile=args.compile)
    run.optimizer = name
    print(f'loss: {run.final_loss:.3f}, {run.sec_per_epoch:.3f} sec/epoch')
    if png:
        run.animator.save(png)
        print(f'figure: {png}')
    if args.json:
        write_runs_json(args.json, [run])
    return 0
