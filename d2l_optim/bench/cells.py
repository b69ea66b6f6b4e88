"""The timing cells: every variant of one (backend, rule, batch size), interleaved round-robin.

A cell warms each variant up once on the first rows, then times whole training calls in
turn, so that drift in machine load hits every variant alike, until it has its repeats
(and, for cheap cells, until it ran :attr:`BenchConfig.min_seconds`). ``scratch`` and
``concise`` are our ``fit_ch11`` and ``fit_concise_ch11``; the floors are in :mod:`.floors`.
"""
from __future__ import annotations

import io
import time
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from ..airfoil import EVAL_EVERY, airfoil_arrays
from ..backend import load_backend
from ..data import ArrayLoader
from ..harness import fit_ch11, fit_concise_ch11
from ..rules import get_rule
from .config import BUILTIN, HYPERPARAMS, BenchConfig
from .floors import FLOORS, floor_loop
from .results import Measurement, Sample, add_ratios, steady_per_epoch


def bench_training(config: BenchConfig, progress: Callable[[str], None] = lambda s: None) -> list:
    """Time every variant in every cell; ratios and speedups filled in from the medians."""
    X, y = airfoil_arrays(config.n)
    results: list[Measurement] = []
    for name in config.backends:
        d2l = load_backend(name)
        for opt in config.optimizers:
            opt = opt.lower()
            for bs in config.batch_sizes:
                cell = _bench_cell(d2l, opt, bs, X, y, config, progress)
                results.extend(cell)
    add_ratios(results)
    return results


def _bench_cell(d2l: Any, opt: str, bs: int, X: np.ndarray, y: np.ndarray,
                config: BenchConfig, progress: Callable[[str], None]) -> list:
    backend = d2l.BACKEND
    epochs = config.epochs_for(bs)
    runners: dict[str, Callable] = {}
    cell = {v: Measurement(backend.name, opt, bs, v, epochs) for v in config.variants}
    warm = min(EVAL_EVERY, len(X))
    for v, m in cell.items():
        runner = _runner(d2l, v, opt, config)
        if isinstance(runner, str):
            m.note = runner
            continue
        try:        # warm-up on the first rows: kernels, lazy imports, matplotlib
            runner(X[:warm], y[:warm], min(bs, warm), 1)
        except ValueError as e:     # compile=True not offered for this path
            m.note = str(e).split(';')[0]
            continue
        runners[v] = runner
    reps = config.repeats_for(backend.name, bs)
    order, tik, r = list(runners), time.perf_counter(), 0
    while order and (r < reps or (r < config.max_repeats and reps == config.repeats
                                  and time.perf_counter() - tik < config.min_seconds)):
        for v in order:
            cell[v].samples.append(runners[v](X, y, bs, epochs))
        order = order[1:] + order[:1]       # round-robin: no variant always runs first
        r += 1
        progress(f'{backend.name} {opt} batch {bs}: round {r} ({time.perf_counter() - tik:.1f} s)')
    return list(cell.values())


def _runner(d2l: Any, variant: str, opt: str, config: BenchConfig) -> Callable | str:
    """A function (X, y, batch_size, epochs) -> Sample, or the reason the variant cannot run."""
    backend = d2l.BACKEND
    compiled = variant.endswith('_compiled')
    if variant in ('scratch', 'scratch_compiled', 'concise', 'concise_compiled'):
        if compiled and backend.name == 'torch':
            if not config.torch_compile:
                return _unavailable('torch', variant)
            backend = replace(backend, compile=_torch_compile)
        if variant.startswith('scratch'):
            return lambda X, y, bs, ep: _ours_scratch(d2l, backend, opt, X, y, bs, ep, compiled, config.seed)
        trainer, hp = BUILTIN[backend.name][opt]
        return lambda X, y, bs, ep: _ours_concise(backend, trainer, hp, X, y, bs, ep, compiled, config.seed)
    maker = FLOORS.get((backend.name, variant))
    if maker is None:
        return _unavailable(backend.name, variant)
    # made once per cell, so that a hand-written jax.jit step is compiled once, as in a
    # script, not once per timed call
    make = maker(opt)
    return lambda X, y, bs, ep: floor_loop(make, backend.tensor, X, y, bs, ep, config.seed)


def _unavailable(backend: str, variant: str) -> str:
    if backend == 'numpy':
        return 'NumPy has no optimizer library or compiler'
    if backend == 'mxnet' and variant == 'floor_compiled':
        return 'hybridize needs Gluon blocks; a scratch loop writes p[:] = ... on plain arrays'
    if backend == 'torch':
        return 'torch.compile does not pay off here (see docs/benchmarks.md)'
    return f'no {variant} loop for {backend}'


def _draw(animator: Any) -> None:
    """Render the run's figure once, as a notebook or ``run --out`` would."""
    animator.draw().savefig(io.BytesIO(), format='png')


def _loader(backend: Any, X: np.ndarray, y: np.ndarray, bs: int) -> Any:
    return ArrayLoader((X, y), bs, True, backend.tensor)


def _ours_scratch(d2l: Any, backend: Any, opt: str, X, y, bs, epochs, compiled, seed) -> Sample:
    hp = dict(HYPERPARAMS[opt])
    states = getattr(d2l, get_rule(opt).init_name)(X.shape[1])
    data_iter = _loader(backend, X, y, bs)
    tik = time.perf_counter()
    run = fit_ch11(getattr(d2l, opt), states, hp, data_iter, X.shape[1], epochs,
                   backend=backend, seed=seed, compile=compiled)
    _draw(run.animator)
    wall = time.perf_counter() - tik
    return Sample(run.sec_per_epoch, steady_per_epoch(run.x, run.times, run.sec_per_epoch), wall, run.final_loss)


def _ours_concise(backend: Any, trainer: str, hp: dict, X, y, bs, epochs, compiled, seed) -> Sample:
    data_iter = _loader(backend, X, y, bs)
    tik = time.perf_counter()
    run = fit_concise_ch11(trainer, dict(hp), data_iter, epochs, backend=backend, seed=seed,
                           compile=compiled)
    _draw(run.animator)
    wall = time.perf_counter() - tik
    return Sample(run.sec_per_epoch, steady_per_epoch(run.x, run.times, run.sec_per_epoch), wall, run.final_loss)


def _torch_compile(fn: Callable) -> Callable:
    """What ``compile=True`` would be on PyTorch; timed only with ``--torch-compile``."""
    import torch
    return torch.compile(fn, dynamic=True)
