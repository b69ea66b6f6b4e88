r"""Learning-rate schedules (11.11), each a pure function of the step count ``t``.

A scheduler is a small frozen record of the book's parameters whose call
``scheduler(t)`` returns the learning rate for step ``t = 0, 1, 2, ...``. It keeps
no state: calling it to draw a plot cannot change what a later training run sees,
and ``scheduler(30)`` means the same whether or not ``scheduler(29)`` came first.
The values are the book's curves, value for value:

* :class:`SquareRootScheduler`: :math:`\eta_t = \eta_0 (t + 1)^{-1/2}`;
* :class:`FactorScheduler`: :math:`\eta_t = \max(\eta_{\min}, \eta_0 \alpha^{t+1})`, so the
  first value is already decayed once (2.0 x 0.9 = 1.8), as the book's stateful
  class gives;
* :class:`MultiFactorScheduler`: :math:`\eta_t = \eta_0 \alpha^{k(t)}` with
  :math:`k(t) = |\{s_i \le t\}|`, decaying *at* the listed steps like PyTorch's
  ``MultiStepLR`` (base 0.5, factor 0.5, steps 15 and 30 give 0.25 at 15, 0.125 at 30);
* :class:`CosineScheduler`: a linear warm-up from ``warmup_begin_lr`` over
  ``warmup_steps`` :math:`w`, then
  :math:`\eta_t = \eta_T + \frac{\eta_0 - \eta_T}{2}\bigl(1 + \cos(\pi \frac{t - w}{T - w})\bigr)`
  up to ``T = max_update``, then ``final_lr`` for ever after.

The training harness (:mod:`d2l_optim.classify`) calls a scheduler once per
epoch, with ``t`` the 0-based index of the epoch about to run, on every backend.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

__all__ = ['SquareRootScheduler', 'FactorScheduler', 'MultiFactorScheduler', 'CosineScheduler',
           'SCHEDULERS', 'schedule_values', 'check_step']


def check_step(t: int) -> int:
    """``t`` as a non-negative int, or a ValueError naming the bad value."""
    try:
        ok = not isinstance(t, bool) and float(t).is_integer() and t >= 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"a scheduler's step count t must be an integer >= 0, got {t!r}")
    return int(t)


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _count(name: str, value: int, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return value


@dataclass(frozen=True)
class SquareRootScheduler:
    r""":math:`\eta_t = \eta_0 (t + 1)^{-1/2}`; the book's ``SquareRootScheduler(lr=0.1)``."""

    lr: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, 'lr', _positive('lr', self.lr))

    def __call__(self, t: int) -> float:
        return self.lr * (check_step(t) + 1.0) ** -0.5


@dataclass(frozen=True)
class FactorScheduler:
    r""":math:`\eta_t = \max(\eta_{\min}, \eta_0 \alpha^{t+1})` with ``factor`` :math:`\alpha`,
    ``stop_factor_lr`` :math:`\eta_{\min}`, ``base_lr`` :math:`\eta_0`.

    The book's class multiplies its state by ``factor`` on every call before
    returning it, so its call number ``t`` (from 0) returns the value above.
    """

    factor: float = 1.0
    stop_factor_lr: float = 1e-7
    base_lr: float = 0.1

    def __post_init__(self) -> None:
        if not (isinstance(self.factor, (int, float)) and 0 < self.factor <= 1):
            raise ValueError(f"factor must be in (0, 1] so that the rate decays, got {self.factor!r}")
        _non_negative('stop_factor_lr', self.stop_factor_lr)
        _positive('base_lr', self.base_lr)

    def __call__(self, t: int) -> float:
        return max(float(self.stop_factor_lr),
                   float(self.base_lr) * float(self.factor) ** (check_step(t) + 1))


@dataclass(frozen=True)
class MultiFactorScheduler:
    r""":math:`\eta_t = \eta_0 \alpha^{k(t)}`, :math:`k(t)` the number of listed ``step`` values
    :math:`\le t`: the rate is multiplied by ``factor`` at each listed step."""

    step: Sequence[int] = field(default=(15, 30))
    factor: float = 0.5
    base_lr: float = 0.5

    def __post_init__(self) -> None:
        steps = tuple(self.step) if isinstance(self.step, (list, tuple)) else None
        if (not steps or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in steps)
                or any(b <= a for a, b in zip(steps, steps[1:]))):
            raise ValueError(f"step must be a non-empty, strictly increasing list of integers >= 1, "
                             f"got {self.step!r}")
        object.__setattr__(self, 'step', steps)
        if not (isinstance(self.factor, (int, float)) and 0 < self.factor <= 1):
            raise ValueError(f"factor must be in (0, 1], got {self.factor!r}")
        _positive('base_lr', self.base_lr)

    def __call__(self, t: int) -> float:
        return float(self.base_lr) * float(self.factor) ** bisect.bisect_right(self.step, check_step(t))


@dataclass(frozen=True)
class CosineScheduler:
    r"""Linear warm-up, then cosine decay from ``base_lr`` to ``final_lr`` at ``max_update``.

    .. math::
        \eta_t = \begin{cases}
        \eta_b + (\eta_0 - \eta_b)\, t / w & t < w \\
        \eta_T + \frac{\eta_0 - \eta_T}{2}\left(1 + \cos\left(\pi \frac{t - w}{T - w}\right)\right) & w \le t \le T \\
        \eta_T & t > T
        \end{cases}

    with ``warmup_begin_lr`` :math:`\eta_b`, ``warmup_steps`` :math:`w`,
    ``base_lr`` :math:`\eta_0`, ``final_lr`` :math:`\eta_T`, ``max_update`` :math:`T`.
    """

    max_update: int
    base_lr: float = 0.01
    final_lr: float = 0.0
    warmup_steps: int = 0
    warmup_begin_lr: float = 0.0

    def __post_init__(self) -> None:
        _count('warmup_steps', self.warmup_steps, 0)
        _count('max_update', self.max_update, 1)
        if self.max_update <= self.warmup_steps:
            raise ValueError(f"max_update ({self.max_update}) must be greater than warmup_steps "
                             f"({self.warmup_steps}): the cosine needs at least one step")
        _positive('base_lr', self.base_lr)
        _non_negative('final_lr', self.final_lr)
        _non_negative('warmup_begin_lr', self.warmup_begin_lr)

    def __call__(self, t: int) -> float:
        t = check_step(t)
        base, final, w = float(self.base_lr), float(self.final_lr), self.warmup_steps
        if t < w:
            return self.warmup_begin_lr + (base - self.warmup_begin_lr) * t / w
        if t > self.max_update:
            return final
        return final + (base - final) * (1 + math.cos(math.pi * (t - w) / (self.max_update - w))) / 2


#: name -> class, for command lines and experiment tables
SCHEDULERS: dict[str, type] = {
    'square-root': SquareRootScheduler, 'factor': FactorScheduler,
    'multi-factor': MultiFactorScheduler, 'cosine': CosineScheduler,
}


def schedule_values(scheduler: Callable[[int], float], num_steps: int) -> list[float]:
    """``[scheduler(0), ..., scheduler(num_steps - 1)]``, what the book plots."""
    return [float(scheduler(t)) for t in range(_count('num_steps', num_steps, 0))]
