"""Beyond the book, after 11.10: how sensitive is each rule to its learning rate?

Every rule of the chapter trained on the airfoil data at 30 learning rates from 1e-4
to 3, five seeds each, as one batched :func:`~d2l_optim.sweeps.sweep` per rule.
Adadelta has no learning rate (that is its point), so its 30 values are of ``rho``
instead, 1 - rho log-spaced from 0.5 to 0.001; the figure draws it flat at its best
rho. ``d2l-optim reproduce`` shows the figure and one table row per rule: the best
value, the median final loss there, and the robustness width (hi / lo of the range
of values whose median final loss stays within 1% of the best).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..plotting import save_figure
from ..report import Row
from ..rules import RULES
from ..sweeps import sensitivity_figure, summarize, sweep

SECTION = '11.10+'
TITLE = 'Beyond the book: learning-rate sensitivity of every rule (30 values x 5 seeds per rule)'
#: the study: 30 learning rates, and for Adadelta (no learning rate) 30 values of rho
LRS = [float(v) for v in np.geomspace(1e-4, 3.0, 30)]
RHOS = [float(1 - v) for v in np.geomspace(0.5, 1e-3, 30)]
SEEDS = tuple(range(5))
#: the sweeping backends fast enough for the study inside reproduce
FAST_SWEEPS = ('numpy', 'torch')


def grid_for(rule: str) -> dict[str, list[float]]:
    """The study's grid for one rule."""
    return {'rho': RHOS} if rule == 'adadelta' else {'lr': LRS}


def study(backend: str = 'numpy', seeds: Sequence[int] = SEEDS,
          rules: Sequence[str] = tuple(RULES)) -> tuple[list[dict], float]:
    """All runs of the study on ``backend`` (7 x 30 x 5 = 1,050 by default) and the
    sweeps' total wall time in seconds."""
    runs, wall = [], 0.0
    for name in rules:
        result = sweep(name, grid_for(name), seeds=seeds, backend=backend)
        runs += result.runs
        wall += result.wall_s
    return runs, wall


def section_rows(backends: Sequence[str], out: Path, seed: int = 0) -> list[Any]:
    """The section as report rows, one per rule and sweeping backend, and its figure."""
    import matplotlib.pyplot as plt  # lazy: matplotlib loads only when the section runs
    rows = []
    seeds = tuple(seed + s for s in SEEDS)
    # one backend is enough: tests/test_sweep.py shows NumPy and PyTorch agree to 1e-5 (JAX's
    # op-by-op sweep is exact but slow, so the section runs on NumPy when JAX is asked alone)
    for backend in [b for b in backends if b in FAST_SWEEPS][:1] or ['numpy']:
        start = time.perf_counter()
        runs, wall = study(backend, seeds)
        table = summarize(runs, 'lr')
        fig = sensitivity_figure(runs, 'lr', title=f'final loss after 2 epochs against lr '
                                                   f'({len(runs)} runs on {backend}); x: a seed diverged')
        name = f'{SECTION}-sensitivity-{backend}.png'
        save_figure(fig, out / name)
        plt.close(fig)
        elapsed = time.perf_counter() - start
        for r in table:
            ours = (f"best {r['param']} {r['best']:.4g}: median final loss {r['median_final_loss']:.5f}, "
                    f"within 1% over {r['width']:.3g}x, {r['diverged']}/{r['runs']} runs diverged")
            rows.append(Row(SECTION, f"sensitivity-{r['optimizer']}", f"{r['optimizer']} sensitivity",
                            backend, ours, 'beyond the book', None, wall_s=elapsed / len(table),
                            values={k: r[k] for k in ('best', 'median_final_loss', 'width', 'diverged')},
                            figures=[name],
                            note=(f"{len(runs)} runs as 7 batched sweeps in {wall:.2f} s; "
                                  f"seeds {seeds[0]}-{seeds[-1]}" if r is table[0] else '')))
    return rows
