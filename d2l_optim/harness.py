"""The book's airfoil training loops, written once for every backend.

``train_ch11`` (the book's optimizers, 11.5-11.10) and ``train_concise_ch11`` (the
framework's own) read as the book's: initialise, then for every minibatch the loss, its
gradients and the update, and every 200 examples the loss on all the data. What the book
does not show is in helpers named for what they do: the argument checks
(:mod:`~d2l_optim.train_checks`), ``compile=True`` (:mod:`~d2l_optim.compiled`), the
model and data (:mod:`~d2l_optim.airfoil`), and :class:`DivergenceWatch`, which stops a
run whose loss diverged. ``fit_ch11``/``fit_concise_ch11`` run the same loops quietly and
return the :class:`Run` record. The adapters bind ``backend=`` so that learners call these
with the book's signatures.
"""
from __future__ import annotations

import contextlib
import functools
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .airfoil import (EVAL_EVERY, init_weights, linreg, linreg_gradients, seeded_generator,
                      squared_loss)
from .compiled import compiled_step, compiler_for
from .data import ArrayLoader
from .ops import to_numpy, to_scalar
from .plotting import Animator, Timer
from .train_checks import check_concise_args, check_train_args, checked_pairs


class DivergenceError(FloatingPointError):
    """Training produced a NaN, infinite or exploding loss (see :func:`diverged`)."""


#: a loss above this many times the run's first evaluation, or above the ceiling, has diverged
DIVERGENCE_FACTOR, DIVERGENCE_CEILING = 1e3, 1e6


def diverged(loss: float, first_loss: float | None = None) -> bool:
    """Whether ``loss`` says a run diverged: NaN or infinite, above 1e6, or above
    1e3 times ``first_loss`` (the run's first evaluation, when there is one).

    The one test every harness and sweep uses, so that "diverged" means one thing.
    """
    loss = float(loss)
    if not math.isfinite(loss) or loss > DIVERGENCE_CEILING:
        return True
    return first_loss is not None and math.isfinite(first_loss) and first_loss > 0 \
        and loss > DIVERGENCE_FACTOR * first_loss


class DivergenceWatch:
    """Passes each evaluated loss of a run through, or raises :class:`DivergenceError`
    naming the loss, the epoch and a smaller learning rate once it has diverged."""

    def __init__(self, optimizer: Any, hyperparams: dict, num_epochs: int) -> None:
        self.optimizer = getattr(optimizer, '__name__', str(optimizer))
        self.hyperparams, self.num_epochs = dict(hyperparams), num_epochs
        self.first: float | None = None

    def __call__(self, value: float, epoch: int) -> float:
        first = self.first
        if diverged(value, first):
            lr = self.hyperparams.get('lr', self.hyperparams.get('learning_rate'))
            hint = f'try a smaller learning rate, e.g. lr={lr / 10:g}' \
                if isinstance(lr, (int, float)) else 'try a smaller learning rate'
            why = f' ({value / first:.3g} times the first evaluation, {first:.4g})' \
                if first is not None and math.isfinite(value) and value <= DIVERGENCE_CEILING else \
                f' (above {DIVERGENCE_CEILING:g})' if math.isfinite(value) else ''
            shown = {k: v for k, v in self.hyperparams.items() if k != 't'}
            raise DivergenceError(
                f"the loss became {value:.6g}{why} in epoch {epoch + 1} of {self.num_epochs} "
                f"({self.optimizer}, hyperparams {shown}); {hint}")
        if first is None:
            self.first = value
        return value


def overflow_left_to_the_watch(train: Callable) -> Callable:
    """``train`` with NumPy's overflow warnings off: a diverging NumPy run overflows, and
    :class:`DivergenceWatch` reports that once, with the epoch and a hint.

    (A warnings filter, not np.errstate: under NumPy 1 a non-default errstate makes every
    ufunc call about 30% slower, which on airfoil's 5 x 1 arrays is most of a step.)
    """
    @functools.wraps(train)
    def quietly(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', r'(overflow|invalid value) encountered', RuntimeWarning)
            return train(*args, **kwargs)
    return quietly


@dataclass
class Run:
    """One training run: what the CLI prints, plots and writes as JSON (``fit_ch11`` makes it
    with :meth:`of`, and the training loop fills it with :meth:`record`)."""

    backend: str
    optimizer: str
    hyperparams: dict
    epochs: int
    losses: list = field(default_factory=list)
    x: list = field(default_factory=list)          # epochs at which each loss was taken
    times: list = field(default_factory=list)      # cumulative training seconds at each loss
    sec_per_epoch: float = math.nan
    wall_s: float = math.nan
    animator: Animator | None = None

    @classmethod
    def of(cls, backend: Any, optimizer: Any, hyperparams: Any, epochs: int) -> Run:
        """An empty record for a run of ``optimizer`` (its name is kept) on ``backend``."""
        hp = dict(hyperparams) if isinstance(hyperparams, Mapping) else hyperparams  # else: checked later
        return cls(backend.name, getattr(optimizer, '__name__', str(optimizer)), hp, epochs)

    def record(self, animator: Animator, timer: Timer) -> tuple[list, list]:
        """Keep what a training loop drew and timed; return (times, losses) as the loop does."""
        self.x, self.losses, self.animator = animator.X[0], animator.Y[0], animator
        self.times, self.sec_per_epoch = timer.cumsum(), timer.sum() / self.epochs
        return self.times, self.losses

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan

    def to_json(self) -> dict:
        return {'backend': self.backend, 'optimizer': self.optimizer,
                'hyperparams': {k: v for k, v in self.hyperparams.items()},
                'epochs': self.epochs, 'losses': self.losses, 'final_loss': self.final_loss,
                'sec_per_epoch': self.sec_per_epoch, 'wall_s': self.wall_s}


def evaluate_loss(net: Callable, data_iter: Any, loss: Callable, backend: Any = None) -> float:
    """Mean loss of ``net`` over ``data_iter``; one vectorized call on in-memory data.

    As the book's version, ``y`` is reshaped to the net's output first, so a
    framework loss (``nn.MSELoss(reduction='none')``, a Keras loss, Gluon's
    ``L2Loss``) compares (n, 1) with (n, 1), never broadcasting to (n, n). A loss
    that reduces to one number per batch counts as that batch's mean.
    """
    no_grad = backend.no_grad if backend is not None else contextlib.nullcontext
    xp = backend.xp if backend is not None else np
    with no_grad():
        if isinstance(data_iter, ArrayLoader):
            X, y = data_iter.full()
            out = _batch_loss(net, X, y, loss, xp)
            return to_scalar(backend.xp.mean(out) if backend is not None else np.mean(to_numpy(out)))
        total, count = 0.0, 0
        for X, y in checked_pairs(data_iter):
            out = to_numpy(_batch_loss(net, X, y, loss, xp))
            total, count = total + float(out.sum()), count + out.size
        if count == 0:
            raise ValueError('evaluate_loss: data_iter yielded no batches')
        return total / count


def _batch_loss(net: Callable, X: Any, y: Any, loss: Callable, xp: Any) -> Any:
    """``loss(net(X), y)`` with ``y`` reshaped to the output when they hold as many numbers."""
    out = net(X)
    out_shape, y_shape = tuple(getattr(out, 'shape', ())), tuple(getattr(y, 'shape', ()))
    if out_shape != y_shape and out_shape and y_shape and \
            int(np.prod(out_shape)) == int(np.prod(y_shape)):
        y = y.reshape(out_shape) if hasattr(y, 'reshape') else xp.reshape(y, out_shape)
    return loss(out, y)


def finish_curve(animator: Animator, timer: Timer, watch: DivergenceWatch,
                 evaluate: Callable[[], float]) -> None:
    """The last frame of a training animation. A run that never reached a multiple of 200
    examples (too little data, or batch sizes that step over them) is evaluated once here,
    at the end of its last epoch, with the clock stopped as at every evaluation."""
    if animator.X is None:
        timer.stop()
        animator.add(watch.num_epochs, (watch(evaluate(), watch.num_epochs - 1),))
    animator.finish()


@overflow_left_to_the_watch
def train_ch11(trainer_fn: Callable, states: Any, hyperparams: dict, data_iter: Any,
               feature_dim: int, num_epochs: int = 2, *, backend: Any, seed: int | None = None,
               compile: bool = False, run: Run | None = None) -> tuple[list, list]:
    """The book's ``train_ch11``: prints ``loss: L, T sec/epoch``, returns (times, losses)."""
    check_train_args(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs)
    w, b = map(backend.parameter, init_weights(feature_dim, seeded_generator(data_iter, seed)))
    xp = backend.xp
    net, loss = lambda X: linreg(X, w, b, xp), lambda y_hat, y: squared_loss(y_hat, y, xp)

    def step(X, y):     # the loss, its gradients, the update (PyTorch, MXNet: grads in p.grad)
        grads = backend.gradients(lambda: xp.mean(loss(net(X), y)), [w, b],
                                  lambda: linreg_gradients(X, y, w, b))   # NumPy: closed form
        trainer_fn([w, b], *([] if backend.grads_on_params else [grads]), states, hyperparams)
    step = compiled_step(step, trainer_fn, [w, b], states, hyperparams, backend) if compile else step
    animator = Animator(xlabel='epoch', ylabel='loss', xlim=[0, num_epochs], ylim=[0.22, 0.35])
    n, timer, watch = 0, Timer(), DivergenceWatch(trainer_fn, hyperparams, num_epochs)
    for epoch in range(num_epochs):
        for X, y in data_iter:
            step(X, y)
            n += X.shape[0]
            if n % EVAL_EVERY == 0:
                timer.stop()
                animator.add(n / X.shape[0] / len(data_iter),
                             (watch(evaluate_loss(net, data_iter, loss, backend), epoch),))
                timer.start()
    finish_curve(animator, timer, watch, lambda: evaluate_loss(net, data_iter, loss, backend))
    if run is not None:         # fit_ch11 takes the whole record instead of the printed line
        return run.record(animator, timer)
    print(f'loss: {animator.Y[0][-1]:.3f}, {timer.sum() / num_epochs:.3f} sec/epoch')
    return timer.cumsum(), animator.Y[0]


def fit_ch11(trainer_fn: Callable, states: Any, hyperparams: dict, data_iter: Any,
             feature_dim: int, num_epochs: int = 2, *, backend: Any, seed: int | None = None,
             compile: bool = False) -> Run:
    """:func:`train_ch11` without its printed line, returning the whole :class:`Run` record."""
    wall, run = time.perf_counter(), Run.of(backend, trainer_fn, hyperparams, num_epochs)
    train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs,
               backend=backend, seed=seed, compile=compile, run=run)
    run.wall_s = time.perf_counter() - wall
    return run


@overflow_left_to_the_watch
def train_concise_ch11(trainer: Any, hyperparams: dict, data_iter: Any, num_epochs: int = 2, *,
                       backend: Any, seed: int | None = None, compile: bool = False,
                       feature_dim: int | None = None, run: Run | None = None) -> tuple[list, list]:
    """The book's ``train_concise_ch11`` with the framework's optimizer ``trainer`` (a class, an
    instance or a name) and the loss 1/2 (y_hat - y)^2; prints and returns as ``train_ch11``."""
    feature_dim = check_concise_args(hyperparams, data_iter, num_epochs, feature_dim)
    w, b = init_weights(feature_dim, seeded_generator(data_iter, seed))     # as train_ch11's
    # The framework's linear net from w and b; step(X, y) is its loss, backward and optimizer step
    step, net = backend.concise(trainer, dict(hyperparams), w, b)
    step = compiler_for(backend)(step) if compile else step
    loss = lambda y_hat, y: squared_loss(y_hat, y, backend.xp)  # noqa: E731
    animator = Animator(xlabel='epoch', ylabel='loss', xlim=[0, num_epochs], ylim=[0.22, 0.35])
    n, timer, watch = 0, Timer(), DivergenceWatch(trainer, hyperparams, num_epochs)
    for epoch in range(num_epochs):
        for X, y in data_iter:
            step(X, y)
            n += X.shape[0]
            if n % EVAL_EVERY == 0:
                timer.stop()
                animator.add(n / X.shape[0] / len(data_iter),
                             (watch(evaluate_loss(net, data_iter, loss, backend), epoch),))
                timer.start()
    finish_curve(animator, timer, watch, lambda: evaluate_loss(net, data_iter, loss, backend))
    if run is not None:         # fit_concise_ch11 takes the whole record instead of the line
        return run.record(animator, timer)
    print(f'loss: {animator.Y[0][-1]:.3f}, {timer.sum() / num_epochs:.3f} sec/epoch')
    return timer.cumsum(), animator.Y[0]


def fit_concise_ch11(trainer: Any, hyperparams: dict, data_iter: Any, num_epochs: int = 2, *,
                     backend: Any, seed: int | None = None, feature_dim: int | None = None,
                     compile: bool = False) -> Run:
    """:func:`train_concise_ch11` without its printed line, returning the :class:`Run` record."""
    wall, run = time.perf_counter(), Run.of(backend, trainer, hyperparams, num_epochs)
    train_concise_ch11(trainer, hyperparams, data_iter, num_epochs, backend=backend, seed=seed,
                       compile=compile, feature_dim=feature_dim, run=run)
    run.wall_s = time.perf_counter() - wall
    return run
