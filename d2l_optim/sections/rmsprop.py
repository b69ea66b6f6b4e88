"""11.8 RMSProp: the weights (1 - gamma) gamma^t, the ill-conditioned quadratic, the
exercises (gamma = 1, the rotated problem) and the airfoil runs."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..harness import train_2d, trainer_2d
from .airfoil_runs import concise_run, register_run, scratch_run
from .objectives import f_ill, f_ill_grad
from .registry import Context, Result, experiment, new_figure, printed
from .traces import rotated_result, train_2d_result


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


def rmsprop_gamma_one(steps: int = 20, eta: float = 0.4) -> list:
    """11.8's exercise gamma = 1: s never leaves 0, so every step is eta g / sqrt(eps),
    1000 times the gradient step. The validator refuses gamma = 1, so it is set afterwards."""
    trainer = trainer_2d('rmsprop', f_ill_grad, eta=eta, gamma=0.9)
    trainer.hyperparams['gamma'] = 1.0
    return train_2d(trainer, steps)


@experiment('11.8', 'gamma-1', 'exercise: RMSProp with gamma = 1', per_backend=False)
def _gamma_one(d2l: Any, ctx: Context) -> Result:
    results, _ = printed(rmsprop_gamma_one)
    x1, x2 = results[-1]
    return Result({'x1': x1, 'x2': x2}, f'epoch 20, x1: {x1:.3e}, x2: {x2:.3e} (diverges: s stays 0, '
                  'each step is 1000 gradient steps)')


@experiment('11.8', 'rotated', 'exercise: RMSProp eta 0.4 gamma 0.9 on f rotated by 45 degrees',
            per_backend=False)


def _rmsprop_rotated(d2l: Any, ctx: Context) -> Result:
    return rotated_result('rmsprop', eta=0.4, gamma=0.9)


register_run('11.8', 'scratch', 'rmsprop scratch (lr 0.01, gamma 0.9)', 'rmsprop scratch',
              scratch_run('rmsprop', {'lr': 0.01, 'gamma': 0.9}))
register_run('11.8', 'concise', 'rmsprop concise', 'rmsprop concise', concise_run('rmsprop'))
