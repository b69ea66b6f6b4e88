"""``d2l-optim compare OPTIMIZER --backends numpy,torch,...``: one rule, one seed, every backend.

The seed fixes the initial weights and the minibatch order on all backends, so the
curves should lie on top of each other; the table says how far each is from NumPy's.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import BACKENDS, BackendUnavailable, installed_backends, load_backend
from ..files import check_replaceable
from ..rules import get_rule
from .common import (add_training_arguments, check_out_dir, check_out_file, hyperparams_from,
                     names_list, write_runs_json)


#: looked up by the CLI before main runs (offline: one line, exit code 2, before any import)
NEEDS_DATA = ('airfoil',)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_training_arguments(p)
    p.set_defaults(seed=0)          # the point of comparing: one seed for every backend
    p.add_argument('--backends', default=None,
                   help=f"comma-separated, from: {', '.join(BACKENDS)} (default: those installed)")


def parse_backends(text: str | None) -> tuple[list[str], bool]:
    """The backends asked for, in order, and whether the user named them."""
    if text is None:
        return installed_backends(), False
    names = names_list(text) or []
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise ValueError(f"unknown backend(s) {unknown or [text]}; choose from: {', '.join(BACKENDS)}")
    return list(dict.fromkeys(names)), True


def run_on(d2l: Any, rule: str, hyperparams: dict, args: argparse.Namespace):
    """``fit_ch11`` with the book's optimizer for ``rule`` on one backend."""
    data_iter, feature_dim = d2l.get_data_ch11(args.batch_size)
    rule_ = get_rule(rule)
    fn = getattr(d2l, rule_.book_name)
    states = getattr(d2l, rule_.init_name)(feature_dim) if rule_.n_states else None
    run = d2l.fit_ch11(fn, states, dict(hyperparams), data_iter, feature_dim, args.epochs, seed=args.seed)
    run.optimizer = rule
    return run


def figure(runs: list, title: str):
    """The loss curves in one headless figure; dashes of different lengths keep equal curves visible."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    styles = [('-', 3.0), ('--', 2.2), ('-.', 1.6), (':', 1.2)]
    for i, run in enumerate(runs):
        ls, lw = styles[i % len(styles)]
        ax.plot(run.x, run.losses, ls, linewidth=lw, label=run.backend)
    ax.set(xlabel='epoch', ylabel='loss', title=title)
    ax.grid()
    ax.legend()
    return fig


def main(args: argparse.Namespace) -> int:
    from ..data import require
    rule, hp = hyperparams_from(args)
    check_out_dir(args.out)
    check_out_file(args.json)
    names, explicit = parse_backends(args.backends)
    path = Path(args.out) / f'compare-{rule}.png' if args.out else None
    if path:
        check_replaceable(path)     # a user's file of that name: refused before the work
    require(*NEEDS_DATA)            # once, before any backend loads (the CLI did it already)
    backends = {}
    for name in names:              # fail (or skip) before any training starts
        try:
            backends[name] = load_backend(name)
        except BackendUnavailable as e:
            if explicit:
                raise
            print(f'd2l-optim compare: skipping {name}: {e}', file=sys.stderr)
    runs = [run_on(d2l, rule, hp, args) for d2l in backends.values()]
    reference = next((r for r in runs if r.backend == 'numpy'), None) \
        or run_on(load_backend('numpy'), rule, hp, args)

    print(f'{rule} {hp}, batch size {args.batch_size}, {args.epochs} epochs, seed {args.seed}')
    print(f"{'backend':<11} {'final loss':>10} {'sec/epoch':>10} {'max |delta| vs numpy':>21}")
    for run in runs:
        delta = float(np.max(np.abs(np.array(run.losses) - np.array(reference.losses))))
        print(f'{run.backend:<11} {run.final_loss:>10.6f} {run.sec_per_epoch:>10.3f} {delta:>21.1e}')
    if path:
        from ..plotting import save_figure
        save_figure(figure(runs, f'{rule}, seed {args.seed}'), path)
        print(f'figure: {path}')
    if args.json:
        write_runs_json(args.json, runs)
    return 0
