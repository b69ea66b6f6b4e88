"""11.8 RMSProp: the weights (1 - gamma) gamma^t, the ill-conditioned quadratic and the
airfoil runs. The exercises (gamma = 1, the rotated problem, gamma's schedule) are computed
in the notebook's cells."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..trajectories import trainer_2d
from .airfoil_rows import concise_run, register_run, scratch_run
from .objectives import f_ill, f_ill_grad
from .registry import Context, Result, experiment, new_figure
from .traces import train_2d_result


def rmsprop_weights_figure(gammas: Sequence[float] = (0.95, 0.9, 0.8, 0.7), horizon: int = 40):
    """11.8: RMSProp's s_t weighs the squared gradient from tau steps ago by (1 - gamma) gamma^tau."""
    fig, ax = new_figure()
    t = np.arange(horizon)
    for gamma in gammas:
        ax.plot(t, (1 - gamma) * gamma ** t, label=f'gamma = {gamma:.2f}')
    ax.set_xlabel('time'), ax.legend(fontsize=8)
    return fig


@experiment('11.8', 'weights', '(1 - gamma) gamma^t for gamma 0.95, 0.9, 0.8, 0.7', per_backend=False)
def _rmsprop_weights(d2l: Any, ctx: Context) -> Result:
    values = {f'gamma {g}': 1 / (1 - g) for g in (0.95, 0.9, 0.8, 0.7)}
    return Result(values, 'memory 1/(1 - gamma): ' + ', '.join(f'{k}: {v:.1f} steps' for k, v in values.items()),
                  {'weights': rmsprop_weights_figure()})


experiment('11.8', '2d-eta0.4-gamma0.9', 'RMSProp eta 0.4 gamma 0.9 on 0.1 x1^2 + 2 x2^2',
           per_backend=False, book='rmsprop eta 0.4 gamma 0.9')(
    lambda d2l, ctx: train_2d_result(trainer_2d('rmsprop', f_ill_grad, eta=0.4, gamma=0.9), f_ill))


register_run('11.8', 'scratch', 'rmsprop scratch (lr 0.01, gamma 0.9)', 'rmsprop scratch',
              scratch_run('rmsprop', {'lr': 0.01, 'gamma': 0.9}))
register_run('11.8', 'concise', 'rmsprop concise', 'rmsprop concise', concise_run('rmsprop'))
