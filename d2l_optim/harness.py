"""The chapter's training harnesses, written once for every backend.

``train_2d``/``show_trace_2d`` and the 1-D helpers run the rules on Python floats;
``train_ch11`` and ``train_concise_ch11`` train the airfoil linear regression on
a :class:`~d2l_optim.backend.Backend`. The adapters bind ``backend=`` so that
learners call these with the book's signatures.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .data import ArrayLoader
from .ops import scalar_ops, to_numpy, to_scalar
from .plotting import Animator, Timer, plot, set_figsize, _plt
from .rules import Rule, apply_rule, get_rule, validate_hyperparams


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


# ---------------------------------------------------------------- 1-D and 2-D

def gd_1d(eta: float, f_grad: Callable[[float], float], x0: float = 10.0, steps: int = 10) -> list[float]:
    """Gradient descent on a scalar from ``x0`` (11.3), the SGD rule on floats."""
    x, hp, results = x0, {'lr': eta}, [float(x0)]
    rule = get_rule('sgd')
    for _ in range(steps):
        (x,), _ = apply_rule(rule, [x], [f_grad(x)], None, hp, scalar_ops)
        results.append(float(x))
    print(f'epoch {steps}, x: {x:f}')
    return results


def newton(eta: float, f_grad: Callable, f_hess: Callable, x0: float = 10.0, steps: int = 10,
           dtype: Any = np.float32) -> list[float]:
    """Newton's method x <- x - eta f'(x) / f''(x) (11.3), in ``dtype`` like the book's tensors."""
    x, eta = dtype(x0), dtype(eta)
    results = [float(x)]
    for _ in range(steps):
        x = dtype(x - eta * dtype(f_grad(x)) / dtype(f_hess(x)))
        results.append(float(x))
    print(f'epoch {steps}, x: {float(x):f}')
    return results


def show_trace(results: Sequence, f: Callable, backend: Any = None):
    """Plot a 1-D trajectory over the graph of f."""
    xs = [to_scalar(r) for r in results]
    n = max(abs(min(xs)), abs(max(xs)))
    line = np.arange(-n, n, 0.01, dtype=np.float32)
    curve = [to_scalar(f(_arg(x, backend))) for x in line]
    set_figsize()
    return plot([line, xs], [curve, [to_scalar(f(_arg(x, backend))) for x in xs]],
                'x', 'f(x)', fmts=['-', '-o'])


def trainer_2d(optimizer: str | Rule, f_grad: Callable | None = None, **hyperparams) -> Callable:
    """A book-style 2-D trainer ``(x1, x2, s1, s2[, f_grad]) -> (x1, x2, s1, s2)`` from a core rule.

    ``eta`` is accepted for ``lr``, as the book's 2-D cells name it. States start
    as the 0 that :func:`train_2d` passes; two-state rules carry tuples.
    """
    rule = get_rule(optimizer)
    if 'eta' in hyperparams:
        hyperparams['lr'] = hyperparams.pop('eta')
    validate_hyperparams(hyperparams, rule)
    default_grad = f_grad

    def trainer(x1, x2, s1, s2, f_grad=None):
        g1, g2 = (f_grad or default_grad)(x1, x2)
        (x1, x2), (s1, s2) = apply_rule(rule, [x1, x2], [g1, g2], [s1, s2], hyperparams, scalar_ops)
        return x1, x2, (0 if s1 is None else s1), (0 if s2 is None else s2)

    trainer.rule, trainer.hyperparams = rule, hyperparams
    return trainer


def train_2d(trainer: Callable, steps: int = 20, f_grad: Callable | None = None,
             x0: tuple[float, float] = (-5.0, -2.0)) -> list[tuple[float, float]]:
    """Run a 2-D trainer from (-5, -2) and print where it ends, as the book does."""
    x1, x2, s1, s2 = x0[0], x0[1], 0, 0
    results = [(x1, x2)]
    for _ in range(steps):
        if f_grad:
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2, f_grad)
        else:
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
        results.append((x1, x2))
    print(f'epoch {steps}, x1: {to_scalar(x1):f}, x2: {to_scalar(x2):f}')
    return results


def show_trace_2d(f: Callable, results: Sequence, backend: Any = None):
    """The trajectory over the contour lines of f (float, 0-d and shape-(1,) points all work)."""
    pts = np.array([[to_scalar(a), to_scalar(b)] for a, b in results])
    set_figsize()
    plt = _plt()
    plt.plot(pts[:, 0], pts[:, 1], '-o', color='#ff7f0e')
    g1, g2 = np.meshgrid(np.arange(-5.5, 1.0, 0.1, dtype=np.float32),
                         np.arange(-3.0, 1.0, 0.1, dtype=np.float32))
    z = to_numpy(f(_arg(g1, backend), _arg(g2, backend)))
    plt.contour(g1, g2, z, colors='#1f77b4')
    plt.xlabel('x1')
    plt.ylabel('x2')
    return plt.gca()


def _arg(x: Any, backend: Any) -> Any:
    return backend.tensor(np.asarray(x, dtype=np.float32)) if backend is not None else x


# ---------------------------------------------------------------- airfoil

def linreg(X, w, b, xp):
    """The linear model X w + b."""
    return xp.matmul(X, w) + b


def squared_loss(y_hat, y, xp):
    """Half the squared error, per example."""
    d = y_hat - xp.reshape(y, y_hat.shape)
    return d * d / 2


def linreg_gradients(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> list:
    """Analytic gradients of mean(squared_loss(linreg(X, w, b), y)), for NumPy (no autograd)."""
    r = (X @ w + b - y.reshape(-1, 1)) / X.shape[0]
    return [X.T @ r, r.sum(axis=0)]


def evaluate_loss(net: Callable, data_iter: Any, loss: Callable, backend: Any = None) -> float:
    """Mean loss of ``net`` over ``data_iter``; one vectorized call on in-memory data."""
    no_grad = backend.no_grad if backend is not None else _nullcontext
    with no_grad():
        if isinstance(data_iter, ArrayLoader):
            X, y = data_iter.full()
            out = loss(net(X), y)
            return to_scalar(backend.xp.mean(out) if backend is not None else np.mean(to_numpy(out)))
        total, count = 0.0, 0
        for X, y in data_iter:
            out = to_numpy(loss(net(X), y))
            total, count = total + float(out.sum()), count + out.size
        return total / count


def _nullcontext():
    import contextlib
    return contextlib.nullcontext()


@dataclass
class Run:
    """One training run: what the CLI prints, plots and writes as JSON."""

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

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan

    def to_json(self) -> dict:
        return {'backend': self.backend, 'optimizer': self.optimizer,
                'hyperparams': {k: v for k, v in self.hyperparams.items()},
                'epochs': self.epochs, 'losses': self.losses, 'final_loss': self.final_loss,
                'sec_per_epoch': self.sec_per_epoch, 'wall_s': self.wall_s}


def _fit(run: Run, step: Callable, predict: Callable, data_iter: Any, backend: Any) -> Run:
    """The one training loop: step per minibatch, full-data loss every 200 examples."""
    wall = time.perf_counter()
    loss = lambda y_hat, y: squared_loss(y_hat, y, backend.xp)  # noqa: E731
    animator = Animator(xlabel='epoch', ylabel='loss', xlim=[0, run.epochs], ylim=[0.22, 0.35])
    n, timer, batches = 0, Timer(), len(data_iter)

    def record(epoch: int, x: float) -> None:
        value = evaluate_loss(predict, data_iter, loss, backend)
        if not math.isfinite(value):
            raise DivergenceError(
                f"the loss became {value} in epoch {epoch + 1} ({run.optimizer}, "
                f"hyperparams {run.hyperparams}); try a smaller learning rate")
        animator.add(x, (value,))

    # A diverging NumPy run overflows; record() reports that with the epoch and a hint.
    with np.errstate(over='ignore', invalid='ignore'):
        for epoch in range(run.epochs):
            for X, y in data_iter:
                step(X, y)
                n += X.shape[0]
                if n % 200 == 0:
                    timer.stop()
                    record(epoch, n / X.shape[0] / batches)
                    timer.start()
        if animator.X is None:      # too few examples to reach an evaluation point
            timer.stop()
            record(run.epochs - 1, run.epochs)
    animator.finish()
    run.x, run.losses = animator.X[0], animator.Y[0]
    run.times, run.sec_per_epoch = timer.cumsum(), timer.sum() / run.epochs
    run.animator, run.wall_s = animator, time.perf_counter() - wall
    return run


def _init_weights(feature_dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """w ~ N(0, 0.01^2) of shape (feature_dim, 1) and b = 0, from one NumPy generator."""
    return (rng.normal(0.0, 0.01, size=(feature_dim, 1)).astype(np.float32),
            np.zeros(1, dtype=np.float32))


def _seeded(data_iter: Any, seed: int | None) -> np.random.Generator:
    rng = np.random.default_rng(seed)
    if seed is not None and isinstance(data_iter, ArrayLoader):
        data_iter.rng = rng     # minibatch order from the same generator as the weights
    return rng


def _compiler(backend: Any) -> Callable[[Callable], Callable]:
    """The backend's ``compile``, or a ValueError naming the backends that have one."""
    if getattr(backend, 'compile', None) is None:
        from .backend import COMPILERS
        offered = '; '.join(f'{name} ({how})' for name, how in COMPILERS.items())
        raise ValueError(f"compile=True is not available on the {backend.name} backend; "
                         f"it is on: {offered}")
    return backend.compile


def _compiled_step(compile_fn: Callable, step: Callable, hyperparams: dict) -> Callable:
    """``step`` compiled, with the step count ``hyperparams['t']`` kept outside the trace.

    A traced function runs its Python side effects once, at trace time, so the
    ``hyperparams['t'] += 1`` of Adam/Yogi (core or a learner's own) would freeze t.
    Here t enters the trace as an argument; whether the optimizer advanced it is seen
    while tracing, and the Python int is advanced after each call instead.
    """
    advances_t: list[bool] = []

    def body(X, y, t):
        had_t, saved = 't' in hyperparams, hyperparams.get('t')
        hyperparams['t'] = t
        try:
            step(X, y)
            advances_t[:] = [hyperparams['t'] is not t]
        finally:
            if had_t:
                hyperparams['t'] = saved
            else:
                hyperparams.pop('t', None)

    compiled = compile_fn(body)

    def compiled_step(X, y):
        t = hyperparams.get('t', 1)
        compiled(X, y, t)
        if advances_t and advances_t[0]:
            hyperparams['t'] = t + 1
    return compiled_step


def fit_ch11(trainer_fn: Callable, states: Any, hyperparams: dict, data_iter: Any,
             feature_dim: int, num_epochs: int = 2, *, backend: Any, seed: int | None = None,
             compile: bool = False) -> Run:
    """Train the airfoil linear regression with a book-style optimizer; return the :class:`Run`.

    ``compile=True`` traces the training step once (TensorFlow: ``tf.function``).
    """
    compile_fn = _compiler(backend) if compile else None
    rule = getattr(trainer_fn, 'rule', None)
    validate_hyperparams(hyperparams, rule)
    w0, b0 = _init_weights(feature_dim, _seeded(data_iter, seed))
    w, b = backend.parameter(w0), backend.parameter(b0)
    params, xp = [w, b], backend.xp
    gradients, on_params = backend.gradients, backend.grads_on_params

    def step(X, y):
        grads = gradients(lambda: xp.mean(squared_loss(linreg(X, w, b, xp), y, xp)), params,
                          lambda: linreg_gradients(X, y, w, b))
        if on_params:
            trainer_fn(params, states, hyperparams)
        else:
            trainer_fn(params, grads, states, hyperparams)

    if compile_fn is not None:
        step = _compiled_step(compile_fn, step, hyperparams)
    run = Run(backend.name, getattr(trainer_fn, '__name__', str(trainer_fn)),
              dict(hyperparams), num_epochs)
    return _fit(run, step, lambda X: linreg(X, w, b, xp), data_iter, backend)


def train_ch11(trainer_fn: Callable, states: Any, hyperparams: dict, data_iter: Any,
               feature_dim: int, num_epochs: int = 2, *, backend: Any, seed: int | None = None,
               compile: bool = False):
    """The book's ``train_ch11``: prints ``loss: L, T sec/epoch``, returns (times, losses)."""
    run = fit_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs,
                   backend=backend, seed=seed, compile=compile)
    print(f'loss: {run.final_loss:.3f}, {run.sec_per_epoch:.3f} sec/epoch')
    return run.times, run.losses


def fit_concise_ch11(trainer: Any, hyperparams: dict, data_iter: Any, num_epochs: int = 2, *,
                     backend: Any, seed: int | None = None, feature_dim: int | None = None,
                     compile: bool = False) -> Run:
    """Train the same model with the framework's own optimizer; return the :class:`Run`.

    ``compile=True``: ``tf.function`` on TensorFlow, hybridized Gluon blocks on MXNet.
    """
    compile_fn = _compiler(backend) if compile else None
    validate_hyperparams(hyperparams)
    if feature_dim is None:
        feature_dim = data_iter.arrays[0].shape[1] if isinstance(data_iter, ArrayLoader) \
            else next(iter(data_iter))[0].shape[1]
    w0, b0 = _init_weights(int(feature_dim), _seeded(data_iter, seed))
    step, predict = backend.concise(trainer, dict(hyperparams), w0, b0)
    if compile_fn is not None:
        step = compile_fn(step)
    name = trainer if isinstance(trainer, str) else getattr(trainer, '__name__', str(trainer))
    run = Run(backend.name, name, dict(hyperparams), num_epochs)
    return _fit(run, step, predict, data_iter, backend)


def train_concise_ch11(trainer: Any, hyperparams: dict, data_iter: Any, num_epochs: int = 2, *,
                       backend: Any, seed: int | None = None, compile: bool = False):
    """The book's ``train_concise_ch11`` with the framework's optimizer (loss 1/2 (y_hat - y)^2)."""
    run = fit_concise_ch11(trainer, hyperparams, data_iter, num_epochs, backend=backend, seed=seed,
                           compile=compile)
    print(f'loss: {run.final_loss:.3f}, {run.sec_per_epoch:.3f} sec/epoch')
    return run.times, run.losses
