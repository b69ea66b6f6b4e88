"""11.4 Stochastic Gradient Descent: noisy SGD on the 2-D quadratic under three learning-rate
schedules (the exercises' code is in the section's notebook)."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..trajectories import trainer_2d
from .objectives import f_2d, f_2d_grad
from .registry import Context, Result, experiment
from .traces import train_2d_result


def constant_lr() -> Callable[[], float]:
    """11.4's schedule factor 1: eta_t = eta."""
    return lambda: 1.0


def exponential_lr() -> Callable[[], float]:
    """11.4's eta_t = eta exp(-0.1 t); t starts at 1 and is advanced before use, as in the book."""
    t = [1]

    def lr() -> float:
        t[0] += 1
        return math.exp(-0.1 * t[0])
    return lr


def polynomial_lr() -> Callable[[], float]:
    """11.4's eta_t = eta (1 + 0.1 t)^(-1/2), t advanced before use as in the book."""
    t = [1]

    def lr() -> float:
        t[0] += 1
        return (1 + 0.1 * t[0]) ** (-0.5)
    return lr


SCHEDULES = {'constant': (constant_lr, 50), 'exponential': (exponential_lr, 1000),
             'polynomial': (polynomial_lr, 50)}


def noisy_sgd(f_grad: Callable, eta: float = 0.1, lr: Callable[[], float] | None = None,
              seed: int | np.random.Generator | None = 0, noise: float = 1.0) -> Callable:
    """11.4's SGD on a 2-D function: the core sgd rule (a :func:`trainer_2d`) on the gradient
    plus N(0, noise^2) per coordinate, with step ``eta * lr()``; the noise is seeded."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lr = lr or constant_lr()
    base = trainer_2d('sgd', eta=eta)

    def noisy_grad(x1, x2):
        g1, g2 = f_grad(x1, x2)
        return g1 + rng.normal(0.0, noise), g2 + rng.normal(0.0, noise)

    def trainer(x1, x2, s1, s2, f_grad=None):
        base.hyperparams['lr'] = eta * lr()
        return base(x1, x2, s1, s2, noisy_grad)
    trainer.rule, trainer.hyperparams = base.rule, base.hyperparams
    return trainer


def _noisy(ctx: Context, schedule: str) -> Result:
    make, steps = SCHEDULES[schedule]
    result = train_2d_result(noisy_sgd(f_2d_grad, 0.1, make(), ctx.seed), f_2d, steps)
    result.values['distance'] = math.hypot(result.values['x1'], result.values['x2'])
    result.note = f'gradient noise N(0, 1), seed {ctx.seed}; the book does not seed it'
    return result


for _name, (_, _steps) in SCHEDULES.items():
    experiment('11.4', f'noisy-sgd-{_name}', f'noisy SGD on x1^2 + 2 x2^2, {_name} learning rate, '
               f'{_steps} steps', per_backend=False)(
        lambda d2l, ctx, name=_name: _noisy(ctx, name))
