"""11.6 Momentum, for ``reproduce``: the ill-conditioned quadratic with and without momentum,
the weights beta^t, the eigenvalue view and the airfoil runs.
The notebook computes its exercises in its own cells."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..trajectories import trainer_2d
from .airfoil_rows import concise_run, register_run, scratch_run
from .objectives import f_ill, f_ill_grad
from .registry import Context, Result, experiment, new_figure
from .traces import train_2d_result

for _name, _rule, _hp, _title, _book in (
        ('gd-eta0.4', 'sgd', {'eta': 0.4}, 'gradient descent eta 0.4', 'gd ill eta 0.4'),
        ('gd-eta0.6', 'sgd', {'eta': 0.6}, 'gradient descent eta 0.6', 'gd ill eta 0.6'),
        ('momentum-eta0.6-beta0.5', 'momentum', {'eta': 0.6, 'momentum': 0.5}, 'momentum eta 0.6 beta 0.5',
         'momentum eta 0.6 beta 0.5'),
        ('momentum-eta0.6-beta0.25', 'momentum', {'eta': 0.6, 'momentum': 0.25},
         'momentum eta 0.6 beta 0.25', 'momentum eta 0.6 beta 0.25')):
    experiment('11.6', _name, f'{_title} on 0.1 x1^2 + 2 x2^2', per_backend=False, book=_book)(
        lambda d2l, ctx, rule=_rule, hp=_hp: train_2d_result(trainer_2d(rule, f_ill_grad, **hp), f_ill))


def beta_powers_figure(betas: Sequence[float] = (0.95, 0.9, 0.6, 0.0), horizon: int = 40):
    """11.6: the weight beta^tau that momentum gives the gradient from tau steps ago."""
    fig, ax = new_figure()
    t = np.arange(horizon)
    for beta in betas:
        ax.plot(t, beta ** t, label=f'beta = {beta:.2f}')
    ax.set_xlabel('time'), ax.legend(fontsize=8)
    return fig


def eigen_decay_figure(lambdas: Sequence[float] = (0.1, 1, 10, 19), eta: float = 0.1,
                       horizon: int = 20):
    """11.6: gradient descent on lambda/2 x^2 multiplies x by (1 - eta lambda) per step."""
    fig, ax = new_figure((6, 4))
    t = np.arange(horizon)
    for lam in lambdas:
        ax.plot(t, (1 - eta * lam) ** t, label=f'lambda = {lam:.2f}')
    ax.set_xlabel('time'), ax.legend(fontsize=8)
    return fig


@experiment('11.6', 'beta-powers', 'momentum weights beta^t', per_backend=False)
def _beta_powers(d2l: Any, ctx: Context) -> Result:
    values = {f'beta {b}': b ** 20 for b in (0.95, 0.9, 0.6)}
    return Result(values, 'weight of the gradient 20 steps back: '
                  + ', '.join(f'{k}: {v:.4f}' for k, v in values.items()), {'beta-powers': beta_powers_figure()})


@experiment('11.6', 'eigen-decay', '(1 - eta lambda)^t for lambda 0.1, 1, 10, 19', per_backend=False)
def _eigen_decay(d2l: Any, ctx: Context) -> Result:
    values = {f'lambda {lam}': (1 - 0.1 * lam) ** 19 for lam in (0.1, 1, 10, 19)}
    return Result(values, ', '.join(f'{k}: {v:.4f}' for k, v in values.items()),
                  {'eigen-decay': eigen_decay_figure()})


for _name, _lr, _mom, _book in (('scratch-lr0.02-beta0.5', 0.02, 0.5, 'momentum (0.02, 0.5)'),
                                ('scratch-lr0.01-beta0.9', 0.01, 0.9, 'momentum (0.01, 0.9)'),
                                ('scratch-lr0.005-beta0.9', 0.005, 0.9, 'momentum (0.005, 0.9)')):
    register_run('11.6', _name, _book, _book, scratch_run('momentum', {'lr': _lr, 'momentum': _mom}))
register_run('11.6', 'concise', 'concise momentum', 'concise momentum', concise_run('momentum'))
