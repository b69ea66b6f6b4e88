"""11.5 Minibatch Stochastic Gradient Descent: matrix products four ways, ``train_sgd`` at
four batch sizes, loss against time, and the concise run."""
from __future__ import annotations

import math
from typing import Any

from ..harness import Run
from ..plotting import plot
from .airfoil_rows import concise_run, register_run, scratch_run
from .airfoil_runs import train_scratch
from .matmul import matmul_gflops, peak_gflops
from .registry import Context, Result, experiment, new_figure


@experiment('11.5', 'matmul-gflops', '256x256 matrix product four ways, GFLOPS = 2 n^3 / t')
def _matmul_experiment(d2l: Any, ctx: Context) -> Result:
    r = matmul_gflops(d2l.BACKEND.name, seed=ctx.seed)
    r['peak'] = peak_gflops(d2l.BACKEND.name, seed=ctx.seed)
    text = (f"element {r['element']:.3g}, column {r['column']:.3g}, full {r['full']:.3g}, "
            f"block {r['block']:.3g} GFLOPS; peak {r['peak']:.3g} (best n x n product, n = 256, 512, 1024)")
    note = (f"element-wise timed on {int(r['element_rows'])} of 256 rows and extrapolated; "
            f"others best of several runs; max |A - BC| {r['max_error']:.1e}")
    fig, ax = new_figure((4, 2.5))
    names = ['element', 'column', 'full', 'block', 'peak']
    ax.bar(names, [r[k] for k in names])
    ax.set_yscale('log'), ax.set_ylabel('GFLOPS')
    ax.set_title(d2l.BACKEND.name, fontsize=9)
    return Result(r, text, {'gflops': fig}, note=note)


def train_sgd(lr: float, batch_size: int, num_epochs: int = 2, *, d2l: Any,
              seed: int | None = None, verbose: bool = True) -> Run:
    """11.5's ``train_sgd(lr, batch_size, num_epochs)``: minibatch SGD at this batch size."""
    return train_scratch(d2l, 'sgd', {'lr': lr}, batch_size, num_epochs, seed, verbose)


TRAIN_SGD_RUNS = {     # experiment name -> (lr, batch size, epochs, book key, legend)
    'train-sgd-gd': (1, 1500, 10, 'train_sgd(1, 1500, 10)', 'gd'),
    'train-sgd-sgd': (0.005, 1, 2, 'train_sgd(0.005, 1)', 'sgd'),
    'train-sgd-batch100': (0.4, 100, 2, 'train_sgd(0.4, 100)', 'batch size=100'),
    'train-sgd-batch10': (0.05, 10, 2, 'train_sgd(0.05, 10)', 'batch size=10'),
}
for _name, (_lr, _bs, _ep, _book, _) in TRAIN_SGD_RUNS.items():
    register_run('11.5', _name, _book, _book, scratch_run('sgd', {'lr': _lr}, _bs, _ep))


def time_vs_loss_figure(runs: dict[str, Run], figsize=(6, 3)):
    """11.5's comparison: loss against training time (log axis) for each run."""
    fig, ax = new_figure(figsize)
    first = min(t for r in runs.values() for t in r.times[:1])
    last = max(t for r in runs.values() for t in r.times[-1:])
    plot([r.times for r in runs.values()], [r.losses for r in runs.values()], 'time (sec)', 'loss',
         legend=list(runs), xlim=[first / 2, last * 2], xscale='log', axes=ax)
    return fig


def time_to_loss(run_: Run, target: float = 0.25) -> float:
    """Training seconds until the evaluated loss first reaches ``target`` (inf if never)."""
    for t, loss in zip(run_.times, run_.losses):
        if loss <= target:
            return t
    return math.inf


@experiment('11.5', 'time-vs-loss', 'time vs loss: gd, sgd, batch 100, batch 10 (log time axis)')
def _time_vs_loss(d2l: Any, ctx: Context) -> Result:
    runs = {}
    for name, (lr, bs, ep, _, legend) in TRAIN_SGD_RUNS.items():
        done = ctx.results.get(f'11.5/{name}')
        runs[legend] = done.runs[0] if done else train_sgd(lr, bs, ep, d2l=d2l, seed=ctx.seed,
                                                           verbose=False)
    times = {k: time_to_loss(r) for k, r in runs.items()}
    text = 'seconds to loss 0.25: ' + ', '.join(f'{k} {v:.3f}' for k, v in times.items())
    return Result(times, text, {'time-vs-loss': time_vs_loss_figure(runs)})


register_run('11.5', 'concise-sgd', 'concise SGD', 'concise SGD', concise_run('sgd'))
