"""Options and outputs the subcommands share: hyperparameter flags, JSON runs, figures."""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Iterable

from ..files import atomic_write
from ..rules import RULES, get_rule

HYPERPARAM_FLAGS = ('lr', 'gamma', 'rho', 'momentum', 'beta1', 'beta2')


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('optimizer', help=f"one of: {', '.join(RULES)}")
    for name in HYPERPARAM_FLAGS:
        p.add_argument(f'--{name}', type=float, default=None,
                       help=f"{name} (default: the book's value for the optimizer)")
    p.add_argument('--batch-size', type=int, default=10)
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--seed', type=int, default=None, help='make the run exactly repeatable')
    p.add_argument('--out', default=None, help='folder for the loss-curve PNG')
    p.add_argument('--json', default=None, help='write the runs as JSON to this path')


def hyperparams_from(args: argparse.Namespace) -> tuple[str, dict]:
    """The rule's name and the book's hyperparameters overridden by the flags given."""
    rule = get_rule(args.optimizer)
    hp = dict(rule.defaults)
    for name in HYPERPARAM_FLAGS:
        value = getattr(args, name)
        if value is not None:
            if name not in rule.defaults:
                raise ValueError(f"--{name} does not apply to {rule.name}; it takes: "
                                 f"{', '.join('--' + k for k in rule.defaults)}")
            hp[name] = value
    if args.epochs <= 0:
        raise ValueError(f'--epochs must be >= 1, got {args.epochs}')
    return rule.name, hp


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text through :func:`d2l_optim.files.atomic_write`."""
    with atomic_write(path) as f:
        f.write(text)


def write_runs_json(path: str | os.PathLike, runs: Iterable[Any]) -> None:
    atomic_write_text(path, json.dumps([r.to_json() for r in runs], indent=2) + '\n')
