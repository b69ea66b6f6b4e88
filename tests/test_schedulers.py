"""The schedules against closed forms at every step, against stateful re-creations of the
book's classes, and the values the book's plots show (1.8 first, 0.25 at 15, final_lr held)."""
import math

import pytest

from d2l_optim.schedulers import (SCHEDULERS, CosineScheduler, FactorScheduler, MultiFactorScheduler,
                                  SquareRootScheduler, schedule_values)


class StatefulFactor:
    """The book's factor scheduler as its text describes it: multiply, floor, return, every call."""

    def __init__(self, factor, stop_factor_lr, base_lr):
        self.factor, self.stop, self.lr = factor, stop_factor_lr, base_lr

    def __call__(self, t):
        self.lr = max(self.stop, self.lr * self.factor)
        return self.lr


class StatefulCosine:
    """The book's cosine scheduler: warm-up, cosine while t <= max_update, else the last value."""

    def __init__(self, max_update, base_lr, final_lr, warmup_steps=0, warmup_begin_lr=0):
        self.T, self.base, self.final = max_update, base_lr, final_lr
        self.w, self.begin = warmup_steps, warmup_begin_lr

    def __call__(self, t):
        if t < self.w:
            return self.begin + (self.base - self.begin) * t / self.w
        if t <= self.T:
            self.last = self.final + (self.base - self.final) * (
                1 + math.cos(math.pi * (t - self.w) / (self.T - self.w))) / 2
        return self.last


def test_square_root_closed_form():
    s = SquareRootScheduler(lr=0.1)
    assert schedule_values(s, 30) == pytest.approx([0.1 / math.sqrt(t + 1) for t in range(30)], rel=1e-15)
    assert s(0) == 0.1 and s(3) == pytest.approx(0.05)


def test_factor_first_value_is_decayed_once_and_floors_at_stop():
    s = FactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0)
    values = schedule_values(s, 50)
    assert values[0] == pytest.approx(1.8) and values[1] == pytest.approx(1.62)
    assert values == pytest.approx([max(1e-2, 2.0 * 0.9 ** (t + 1)) for t in range(50)], rel=1e-14)
    book = StatefulFactor(0.9, 1e-2, 2.0)
    assert values == pytest.approx([book(t) for t in range(50)], rel=1e-12)
    floor = FactorScheduler(0.5, 0.1, 1.0)
    assert [floor(t) for t in range(5)] == pytest.approx([0.5, 0.25, 0.125, 0.1, 0.1])


def test_multi_factor_decays_at_the_listed_epochs():
    s = MultiFactorScheduler(step=[15, 30], factor=0.5, base_lr=0.5)
    assert s(14) == 0.5 and s(15) == 0.25 and s(29) == 0.25 and s(30) == 0.125 and s(100) == 0.125
    expected = [0.5 * 0.5 ** ((t >= 15) + (t >= 30)) for t in range(40)]
    assert schedule_values(s, 40) == expected


def test_multi_factor_matches_pytorch_multisteplr():
    torch = pytest.importorskip('torch')
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    ms = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[15, 30], gamma=0.5)
    lrs = []
    for _ in range(40):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        ms.step()
    assert schedule_values(MultiFactorScheduler([15, 30], 0.5, 0.5), 40) == lrs


@pytest.mark.parametrize('warmup,begin', [(0, 0.0), (5, 0.0), (5, 0.1)])
def test_cosine_closed_form_warmup_and_hold(warmup, begin):
    T, base, final = 20, 0.3, 0.01
    s = CosineScheduler(max_update=T, base_lr=base, final_lr=final, warmup_steps=warmup, warmup_begin_lr=begin)

    def closed(t):
        if t < warmup:
            return begin + (base - begin) * t / warmup
        t = min(t, T)
        return final + (base - final) * (1 + math.cos(math.pi * (t - warmup) / (T - warmup))) / 2
    values = schedule_values(s, 40)
    assert values == pytest.approx([closed(t) for t in range(40)], rel=1e-14, abs=1e-16)
    book = StatefulCosine(T, base, final, warmup, begin)
    assert values == pytest.approx([book(t) for t in range(40)], rel=1e-14, abs=1e-16)
    assert s(warmup) == pytest.approx(base)                 # the warm-up ends exactly at base_lr
    if warmup:
        assert s(warmup - 1) == pytest.approx(begin + (base - begin) * (warmup - 1) / warmup)
    assert s(T) == pytest.approx(final) and s(T + 1) == final and s(1000) == final


def test_cosine_book_values():
    s = CosineScheduler(20, warmup_steps=5, base_lr=0.3, final_lr=0.01)
    assert schedule_values(s, 6) == pytest.approx([0.0, 0.06, 0.12, 0.18, 0.24, 0.3])
    assert s(12) == pytest.approx(0.01 + 0.29 * (1 + math.cos(math.pi * 7 / 15)) / 2)


def test_pure_order_does_not_matter():
    """A plot drawn first cannot change what a training run sees (the book's TF multi-factor bug)."""
    for s in (FactorScheduler(0.9, 1e-2, 2.0), MultiFactorScheduler([15, 30], 0.5, 0.5),
              CosineScheduler(20, 0.3, 0.01, 5)):
        fresh = s(25)
        schedule_values(s, 30)
        assert s(25) == fresh and s(3) == schedule_values(s, 4)[3]
    # the book's stateful cosine asked first about t > max_update has no value yet; ours does
    with pytest.raises(AttributeError):
        StatefulCosine(20, 0.3, 0.01)(25)
    assert CosineScheduler(20, 0.3, 0.01)(25) == 0.01


def test_values_are_python_floats():
    """Keras' LearningRateScheduler insists on a float."""
    for s in (SquareRootScheduler(), FactorScheduler(0.9), MultiFactorScheduler([2], 0.5, 1),
              CosineScheduler(3, 1, 0)):
        assert all(type(v) is float for v in schedule_values(s, 6))


@pytest.mark.parametrize('make,message', [
    (lambda: SquareRootScheduler(lr=0), r'lr must be a finite number > 0, got 0'),
    (lambda: FactorScheduler(factor=1.5), r'factor must be in \(0, 1\]'),
    (lambda: FactorScheduler(0.9, stop_factor_lr=-1), r'stop_factor_lr must be a finite number >= 0'),
    (lambda: MultiFactorScheduler(step=[30, 15]), r'strictly increasing list of integers >= 1, got \[30, 15\]'),
    (lambda: MultiFactorScheduler(step=[]), r'non-empty'),
    (lambda: MultiFactorScheduler(step=[0, 5]), r'integers >= 1'),
    (lambda: CosineScheduler(5, warmup_steps=5), r'max_update \(5\) must be greater than warmup_steps \(5\)'),
    (lambda: CosineScheduler(0), r'max_update must be an integer >= 1, got 0'),
    (lambda: CosineScheduler(10, base_lr=float('nan')), r'base_lr must be a finite number > 0'),
    (lambda: CosineScheduler(10, final_lr=-0.1), r'final_lr must be a finite number >= 0'),
])
def test_bad_parameters_name_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize('t', [-1, 1.5, 'a', None, True])
def test_bad_step_count(t):
    with pytest.raises(ValueError, match=r"step count t must be an integer >= 0"):
        SquareRootScheduler()(t)


def test_registry_and_integral_floats():
    assert set(SCHEDULERS) == {'square-root', 'factor', 'multi-factor', 'cosine'}
    assert SquareRootScheduler(0.1)(3.0) == SquareRootScheduler(0.1)(3)
