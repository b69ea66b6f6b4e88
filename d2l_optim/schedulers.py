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


# ---------------------------------------------------------------- the parameters' checks

def _check_fields(record: object, **checks: Callable[[str, object], object]) -> None:
    """Check the named fields of a frozen scheduler in order; each keeps what its check returns."""
    for name, check in checks.items():
        object.__setattr__(record, name, check(name, getattr(record, name)))


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _decay_factor(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and 0 < value <= 1):
        raise ValueError(f"{name} must be in (0, 1] so that the rate decays, got {value!r}")
    return float(value)


def _at_least(least: int) -> Callable[[str, int], int]:
    def count(name: str, value: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        return value
    return count


def _increasing_steps(name: str, value: Sequence[int]) -> tuple[int, ...]:
    steps = tuple(value) if isinstance(value, (list, tuple)) else None
    if (not steps or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in steps)
            or any(b <= a for a, b in zip(steps, steps[1:]))):
        raise ValueError(f"{name} must be a non-empty, strictly increasing list of integers >= 1, "
                         f"got {value!r}")
    return steps


def _warmup_before(max_update: int, warmup_steps: int) -> None:
    if max_update <= warmup_steps:
        raise ValueError(f"max_update ({max_update}) must be greater than warmup_steps "
                         f"({warmup_steps}): the cosine needs at least one step")


# ---------------------------------------------------------------- the schedulers

@dataclass(frozen=True)
class SquareRootScheduler:
    r""":math:`\eta_t = \eta_0 (t + 1)^{-1/2}`; the book's ``SquareRootScheduler(lr=0.1)``."""

    lr: float = 0.1

    def __post_init__(self) -> None:
        _check_fields(self, lr=_positive)

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
        _check_fields(self, factor=_decay_factor, stop_factor_lr=_non_negative, base_lr=_positive)

    def __call__(self, t: int) -> float:
        return max(self.stop_factor_lr, self.base_lr * self.factor ** (check_step(t) + 1))


@dataclass(frozen=True)
class MultiFactorScheduler:
    r""":math:`\eta_t = \eta_0 \alpha^{k(t)}`, :math:`k(t)` the number of listed ``step`` values
    :math:`\le t`: the rate is multiplied by ``factor`` at each listed step."""

    step: Sequence[int] = field(default=(15, 30))
    factor: float = 0.5
    base_lr: float = 0.5

    def __post_init__(self) -> None:
        _check_fields(self, step=_increasing_steps, factor=_decay_factor, base_lr=_positive)

    def __call__(self, t: int) -> float:
        return self.base_lr * self.factor ** bisect.bisect_right(self.step, check_step(t))


@dataclass(frozen=True)
class CosineScheduler:
    r"""A linear warm-up from ``warmup_begin_lr`` over ``warmup_steps`` :math:`w`, then
    :math:`\eta_t = \eta_T + \frac{\eta_0 - \eta_T}{2}\bigl(1 + \cos(\pi \frac{t - w}{T - w})\bigr)`
    from ``base_lr`` :math:`\eta_0` to ``final_lr`` :math:`\eta_T` at ``max_update`` :math:`T`,
    and :math:`\eta_T` after."""

    max_update: int
    base_lr: float = 0.01
    final_lr: float = 0.0
    warmup_steps: int = 0
    warmup_begin_lr: float = 0.0

    def __post_init__(self) -> None:
        _check_fields(self, warmup_steps=_at_least(0), max_update=_at_least(1))
        _warmup_before(self.max_update, self.warmup_steps)
        _check_fields(self, base_lr=_positive, final_lr=_non_negative, warmup_begin_lr=_non_negative)

    def __call__(self, t: int) -> float:
        t, w = check_step(t), self.warmup_steps
        if t < w:
            return self.warmup_begin_lr + (self.base_lr - self.warmup_begin_lr) * t / w
        if t > self.max_update:
            return self.final_lr
        return self.final_lr + (self.base_lr - self.final_lr) * (
            1 + math.cos(math.pi * (t - w) / (self.max_update - w))) / 2


#: name -> class, for command lines and experiment tables
SCHEDULERS: dict[str, type] = {
    'square-root': SquareRootScheduler, 'factor': FactorScheduler,
    'multi-factor': MultiFactorScheduler, 'cosine': CosineScheduler,
}


def schedule_values(scheduler: Callable[[int], float], num_steps: int) -> list[float]:
    """``[scheduler(0), ..., scheduler(num_steps - 1)]``, what the book plots."""
    return [float(scheduler(t)) for t in range(_at_least(0)('num_steps', num_steps))]
