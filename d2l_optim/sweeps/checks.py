"""What a sweep refuses before it allocates: the grid, the seeds, the settings, the memory.

Each check raises a ``ValueError`` of one line naming the bad value and the fix. The
memory check runs before the grid's points or any array are made, so a grid of a
billion points is refused at once.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..hyperparams import validate_hyperparams
from ..rules import Rule, get_rule

#: a sweep whose arrays would take more than this is refused before allocating
MAX_BYTES = 2 * 1024 ** 3
#: more runs than this cannot fit in MAX_BYTES whatever the rule (each holds 3 float32
#: predictions per example of the 1500 airfoil rows): refused before any grid is built
MAX_RUNS = MAX_BYTES // (4 * 3 * 1500)
DTYPES = {'float32': np.float32, 'float64': np.float64}


def hyperparams_taken(rule: str | Rule) -> list[str]:
    """The hyperparameters ``rule`` reads, as it declares them: the book's defaults, then
    ``eps`` where the rule has one (:attr:`~d2l_optim.rules.Rule.hyperparams`)."""
    return list(get_rule(rule).hyperparams)


def check_grid(rule: Rule, grid: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """``grid`` as lists of floats, each name one ``rule`` takes and each value valid for it."""
    taken = hyperparams_taken(rule)
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"the grid is empty; give at least one hyperparameter with values, "
                         f"e.g. {{'lr': [0.001, 0.01, 0.1]}} ({rule.name} takes: {', '.join(taken)})")
    out: dict[str, list[float]] = {}
    for name, values in grid.items():
        if name not in taken:
            raise ValueError(f"{rule.name} does not take {name!r}; it takes: {', '.join(taken)}")
        out[name] = _values(name, values)
    return out


def _values(name: str, values: Sequence[float] | float) -> list[float]:
    if isinstance(values, (str, bytes)):
        raise ValueError(f"the grid's {name} is the string {values!r}; give numbers, e.g. "
                         f"{{{name!r}: [0.01, 0.1]}}")
    try:
        values = list(values)
    except TypeError:           # one number (a Python or NumPy scalar)
        values = [values]
    if not values:
        raise ValueError(f"the grid's {name} has no values; give at least one")
    for i, v in enumerate(values):
        try:
            v = float(v)
            validate_hyperparams({name: v})
            if not math.isfinite(v):
                raise ValueError(f"{name} must be finite, got {v!r}")
        except (TypeError, ValueError) as e:
            raise ValueError(f"grid value {name}[{i}] = {values[i]!r} is invalid: {e}") from None
        values[i] = v
    return values


def check_seeds(seeds: Iterable[int]) -> list[int]:
    """``seeds`` as a non-empty list of non-negative ints (one int is a list of one)."""
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seeds:
        raise ValueError('seeds is empty; give at least one, e.g. seeds=(0,)')
    for i, s in enumerate(seeds):
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0:
            raise ValueError(f"seeds[{i}] = {s!r} is not a non-negative integer")
    return [int(s) for s in seeds]


def check_settings(num_epochs: int, dtype: str) -> None:
    """The number of epochs and the precision's name."""
    if not isinstance(num_epochs, (int, np.integer)) or num_epochs < 1:
        raise ValueError(f"num_epochs must be an integer >= 1, got {num_epochs!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")


def check_batch_size(batch_size: int, n: int) -> None:
    if not isinstance(batch_size, (int, np.integer)) or not 0 < batch_size <= n:
        raise ValueError(f"batch_size must be an integer in [1, {n}], got {batch_size!r}")


def estimate_bytes(runs: int, seeds: int, n: int, features: int, n_states: int,
                   n_evals: int, itemsize: int) -> int:
    """The arrays a sweep holds at once: parameters, gradients and states per run, the
    full-data predictions of an evaluation, one epoch of shuffled data per seed, the losses."""
    p = features + 1
    per_run = p * (4 + 2 * n_states) + 3 * n + n_evals
    return itemsize * (runs * per_run + 3 * seeds * n * p)


def check_memory(runs: int, seeds: int, n: int, features: int, n_states: int, n_evals: int,
                 dtype: str) -> None:
    """Refuse a sweep whose arrays (:func:`estimate_bytes`) would pass :data:`MAX_BYTES`."""
    need = estimate_bytes(runs, seeds, n, features, n_states, n_evals, np.dtype(DTYPES[dtype]).itemsize)
    if need > MAX_BYTES:
        raise ValueError(f"this sweep of {runs} runs would need about {need / 2 ** 30:.1f} GiB "
                         f"(limit {MAX_BYTES / 2 ** 30:.0f} GiB); use fewer values or seeds, "
                         f"or split the grid")
