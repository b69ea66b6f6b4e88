"""The chapter's training harnesses, written once for every backend.

``train_2d``/``show_trace_2d`` and the 1-D helpers run the rules on Python floats;
``train_ch11`` and ``train_concise_ch11`` train the airfoil linear regression on
a :class:`~d2l_optim.backend.Backend`. The adapters bind ``backend=`` so that
learners call these with the book's signatures.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterator, Sequence

import numpy as np

from .data import ArrayLoader
from .ops import scalar_ops, to_numpy, to_scalar
from .plotting import Animator, Timer, plot, set_figsize, pyplot
from .rules import EXTRA_RULES, RULES, Rule, apply_rule, get_rule, validate_hyperparams


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
    plt = pyplot()
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
    """Mean loss of ``net`` over ``data_iter``; one vectorized call on in-memory data.

    As the book's version, ``y`` is reshaped to the net's output first, so a
    framework loss (``nn.MSELoss(reduction='none')``, a Keras loss, Gluon's
    ``L2Loss``) compares (n, 1) with (n, 1), never broadcasting to (n, n). A loss
    that reduces to one number per batch counts as that batch's mean.
    """
    no_grad = backend.no_grad if backend is not None else _nullcontext
    xp = backend.xp if backend is not None else np
    with no_grad():
        if isinstance(data_iter, ArrayLoader):
            X, y = data_iter.full()
            out = _batch_loss(net, X, y, loss, xp)
            return to_scalar(backend.xp.mean(out) if backend is not None else np.mean(to_numpy(out)))
        total, count = 0.0, 0
        for X, y in _pairs(data_iter):
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


def _pairs(data_iter: Any) -> Iterator[tuple]:
    """The batches of ``data_iter``, each checked to be an (X, y) pair."""
    try:
        it = iter(data_iter)
    except TypeError:
        raise TypeError(f"data_iter must be an iterable of (X, y) minibatches, got a "
                        f"{type(data_iter).__name__}; use get_data_ch11 or load_array") from None
    for batch in it:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            what = f'a {type(batch).__name__}' + (f' of length {len(batch)}'
                                                   if isinstance(batch, (tuple, list)) else '')
            raise TypeError(f"data_iter must yield (X, y) pairs, but it yielded {what}; "
                            f"build it with load_array((features, labels), batch_size)")
        yield batch[0], batch[1]


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

    first: list[float] = []

    def record(epoch: int, x: float) -> None:
        value = evaluate_loss(predict, data_iter, loss, backend)
        if diverged(value, first[0] if first else None):
            lr = run.hyperparams.get('lr', run.hyperparams.get('learning_rate'))
            hint = f'try a smaller learning rate, e.g. lr={lr / 10:g}' \
                if isinstance(lr, (int, float)) else 'try a smaller learning rate'
            why = f' ({value / first[0]:.3g} times the first evaluation, {first[0]:.4g})' \
                if first and math.isfinite(value) and value <= DIVERGENCE_CEILING else \
                f' (above {DIVERGENCE_CEILING:g})' if math.isfinite(value) else ''
            raise DivergenceError(
                f"the loss became {value:.6g}{why} in epoch {epoch + 1} of {run.epochs} "
                f"({run.optimizer}, hyperparams {_shown(run.hyperparams)}); {hint}")
        if not first:
            first.append(value)
        animator.add(x, (value,))

    # A diverging NumPy run overflows; record() reports that with the epoch and a hint.
    # (A warnings filter, not np.errstate: under NumPy 1 a non-default errstate makes every
    # ufunc call about 30% slower, which on airfoil's 5 x 1 arrays is most of a step.)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', r'(overflow|invalid value) encountered', RuntimeWarning)
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


def _shown(hyperparams: dict) -> dict:
    return {k: v for k, v in hyperparams.items() if k != 't'}


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


def _compiled_step(compile_fn: Callable, step: Callable, hyperparams: dict,
                   program: Hashable | None = None, boxes: Sequence = (),
                   uses_t: bool | None = None) -> Callable:
    """``step`` compiled, with the step count ``hyperparams['t']`` kept outside the trace.

    A traced function runs its Python side effects once, at trace time, so the
    ``hyperparams['t'] += 1`` of Adam/Yogi (core or a learner's own) would freeze t.
    Here t enters the trace as an argument; whether the optimizer advanced it is seen
    while tracing (or known beforehand, ``uses_t``, for the library's own rules), and the
    Python int is advanced after each call instead. ``program`` and ``boxes`` are passed
    on to the backend's compile as ``fn.program`` and ``fn.boxes`` (see :class:`Backend`).
    """
    advances_t: list[bool] = [] if uses_t is None else [uses_t]

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

    if program is not None:
        body.program, body.boxes = program, tuple(boxes)
    compiled = compile_fn(body)

    def compiled_step(X, y):
        t = hyperparams.get('t', 1)
        compiled(X, y, t)
        if advances_t and advances_t[0]:
            hyperparams['t'] = t + 1
    return compiled_step


def _is_library_rule(rule: Rule) -> bool:
    """Whether ``rule`` updates with the library's own function (not a learner's)."""
    core = RULES.get(rule.name) or EXTRA_RULES.get(rule.name)
    return core is not None and rule.update is core.update


def _program(*parts: Any) -> Hashable | None:
    """A key for a step's whole computation, or None where a part cannot be hashed."""
    try:
        hash(parts)
    except TypeError:
        return None
    return parts


def _check_num_epochs(num_epochs: Any) -> None:
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, (int, np.integer)):
        raise TypeError(f"num_epochs must be a whole number of epochs (an int >= 1), got "
                        f"{num_epochs!r} ({type(num_epochs).__name__}); e.g. num_epochs=2")
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}; e.g. num_epochs=2")


def _data_features(data_iter: Any) -> int | None:
    """The number of features in ``data_iter``'s X, after checking it yields (X, y) pairs."""
    if isinstance(data_iter, ArrayLoader):
        X = data_iter.arrays[0]
    else:
        try:
            one_pass = iter(data_iter) is data_iter
        except TypeError:
            one_pass = False
        if one_pass:
            raise TypeError(f"data_iter is a one-pass {type(data_iter).__name__}, but every epoch "
                            f"and every evaluation iterates it again; pass a list of (X, y) "
                            f"batches or load_array((features, labels), batch_size)")
        X = next(_pairs(data_iter), (None, None))[0]
        if X is None:
            raise ValueError('data_iter yielded no batches')
    shape = tuple(getattr(X, 'shape', ()))
    return int(shape[1]) if len(shape) == 2 else None


def _check_feature_dim(feature_dim: Any, data_iter: Any) -> int:
    found = _data_features(data_iter)
    if isinstance(feature_dim, bool) or not isinstance(feature_dim, (int, np.integer)):
        raise TypeError(f"feature_dim must be an int, got {feature_dim!r}"
                        + (f"; the data has {found} features" if found else ''))
    if found is not None and feature_dim != found:
        raise ValueError(f"feature_dim={feature_dim} does not match the data, whose X has {found} "
                         f"features; pass feature_dim={found} (get_data_ch11 returns it)")
    return int(feature_dim)


def _check_states(rule: Rule | None, states: Any, feature_dim: int) -> None:
    """States laid out as ``init_<rule>_states(feature_dim)`` returns them, or a clear error."""
    if rule is None or rule.n_states == 0:
        return
    from .book import BOOK_NAMES
    init = f"init_{BOOK_NAMES.get(rule.name, rule.name).replace('sgd_', '')}_states"
    shapes = [(feature_dim, 1), (1,)]
    kind = 'one array' if rule.n_states == 1 else f'a tuple of {rule.n_states} arrays'
    expected = (f"{rule.name} keeps {kind} per parameter, shaped like w {shapes[0]} and b "
                f"{shapes[1]}; call states = {init}(feature_dim)")
    if states is None:
        raise ValueError(f"states is None, but {expected}")
    if not isinstance(states, (list, tuple)) or len(states) != 2:
        got = f'{len(states)} entries' if isinstance(states, (list, tuple)) else type(states).__name__
        raise ValueError(f"states must hold one entry per parameter (w, b), got {got}; {expected}")
    for name, state, shape in zip(('w', 'b'), states, shapes):
        arrays = state if isinstance(state, (tuple, list)) else (state,)
        if rule.n_states > 1 and (not isinstance(state, (tuple, list)) or len(state) != rule.n_states):
            raise ValueError(f"states for {name} must be {kind}, got "
                             f"{len(arrays) if isinstance(state, (tuple, list)) else 1}; {expected}")
        if rule.n_states == 1 and isinstance(state, (tuple, list)):
            raise ValueError(f"states for {name} must be one array, got a {type(state).__name__} "
                             f"of {len(state)}; {expected}")
        for a in arrays:
            got = tuple(getattr(a, 'shape', np.shape(a)))
            if got != shape:
                raise ValueError(f"states for {name} has shape {got}, expected {shape}; {expected}")


def fit_ch11(trainer_fn: Callable, states: Any, hyperparams: dict, data_iter: Any,
             feature_dim: int, num_epochs: int = 2, *, backend: Any, seed: int | None = None,
             compile: bool = False) -> Run:
    """Train the airfoil linear regression with a book-style optimizer; return the :class:`Run`.

    ``compile=True`` traces the training step once (TensorFlow: ``tf.function``).
    """
    compile_fn = _compiler(backend) if compile else None
    rule = getattr(trainer_fn, 'rule', None)
    _check_num_epochs(num_epochs)
    validate_hyperparams(hyperparams, rule)
    feature_dim = _check_feature_dim(feature_dim, data_iter)
    _check_states(rule, states, feature_dim)
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
        # The library's own optimizers compute only from the hyperparameters and the shapes,
        # so their program has a key and a backend may reuse it across calls. A learner's
        # own function (also one through d2l.book_form) may read globals that change
        # between calls: traced anew every call.
        program = boxes = uses_t = None
        if rule is not None and _is_library_rule(rule):
            boxes = [*params, *(s for state in states or () for s in
                                (state if isinstance(state, (tuple, list)) else (state,)))]
            uses_t = rule.uses_t
            program = _program('ch11', backend.name, trainer_fn, feature_dim, 't' in hyperparams,
                               tuple(sorted((k, v) for k, v in hyperparams.items() if k != 't')))
        step = _compiled_step(compile_fn, step, hyperparams, program, boxes or (), uses_t)
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
    _check_num_epochs(num_epochs)
    validate_hyperparams(hyperparams)
    if feature_dim is None:
        feature_dim = _data_features(data_iter)
        if feature_dim is None:
            raise ValueError('data_iter yields X that is not 2-D (examples x features); '
                             'pass feature_dim= or reshape X')
    else:
        feature_dim = _check_feature_dim(feature_dim, data_iter)
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
