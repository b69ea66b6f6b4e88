"""JAX backend: ``from d2l_optim.backends import jax as d2l``.

JAX's quirks, and only those. **JAX arrays are immutable**, so "in place" needs a
holder: parameters and optimizer states are :class:`Variable` boxes, each holding one
array, written with ``assign`` exactly like the book's TensorFlow tab writes a
``tf.Variable``. Arithmetic on a box reads its array (``gamma * s + (1 - gamma) * g * g``
is an array), ``s.assign(new)`` puts the new array in the box, and everyone holding
the box (the optimizer's ``states`` list, the model, the harness) sees it. A learner's
``p[:] = ...`` raises a ``TypeError`` that shows the JAX way. ``jnp`` functions take
arrays, not boxes: write ``jnp.sqrt(s + eps)`` (an array) or ``jnp.sqrt(s.value)``.

Gradients come from ``jax.grad`` and are passed as a separate list, so the book's
optimizers take ``(params, grads, states, hyperparams)`` like TensorFlow's. The
built-ins are optax (:func:`optax_hyperparams` renames the book's ``lr``, ``gamma``,
``beta1``, ``beta2``). ``compile=True`` is ``jax.jit`` of the whole step: the boxes
the step reads or writes become its inputs and outputs (found on a shape-only first
pass), and ``jax.jit`` keeps one trace per batch shape, so a short last batch is
traced once, not every epoch. Everything runs float32 (x64 stays off) on JAX's
default device, the CPU with the CPU wheel; nothing here changes JAX's global configuration.
"""
from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from d2l_optim import harness
from d2l_optim.backend import Backend
from d2l_optim.book import book_api

_TAPE: list = []        # while compile=True looks for the boxes a step touches: {box: value}


class Variable:
    """A mutable box around one immutable JAX array (or an optax state): JAX's ``tf.Variable``."""

    __slots__ = ('_value',)
    __array_priority__ = 100        # numpy_array * box -> our __rmul__, not NumPy's loop

    def __init__(self, value: Any) -> None:
        self._value = unbox(value)

    @property
    def value(self) -> Any:
        if _TAPE:
            _TAPE[-1].setdefault(self, self._value)
        return self._value

    @value.setter
    def value(self, new: Any) -> None:
        if _TAPE:
            _TAPE[-1].setdefault(self, self._value)
        self._value = unbox(new)

    def assign(self, new: Any) -> 'Variable':
        """Put ``new`` in the box (the JAX way to write ``p[:] = new``)."""
        self.value = new
        return self

    def __setitem__(self, index: Any, new: Any) -> None:
        raise TypeError("JAX arrays are immutable, so p[:] = ... cannot write into p: "
                        "write p.assign(new_value), e.g. p.assign(p - hyperparams['lr'] * g) "
                        "(for a plain JAX array: x = x.at[index].set(value))")

    def numpy(self) -> np.ndarray:
        return np.asarray(self.value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.value, dtype=dtype)

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    T = property(lambda self: self.value.T)

    def __len__(self) -> int:
        return len(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        return f'Variable({self._value!r})'


def unbox(x: Any) -> Any:
    """The array inside a :class:`Variable`, anything else unchanged."""
    return x.value if isinstance(x, Variable) else x


def _delegate(name: str) -> Callable:
    def method(self, *args):
        return getattr(self.value, name)(*(unbox(a) for a in args))
    method.__name__ = name
    return method


for _name in ('add radd sub rsub mul rmul truediv rtruediv pow rpow matmul rmatmul neg pos abs '
              'lt le gt ge getitem').split():
    setattr(Variable, f'__{_name}__', _delegate(f'__{_name}__'))


def _unboxed(fn: Callable) -> Callable:
    return lambda *args, **kwargs: fn(*(unbox(a) for a in args), **kwargs)


xp = SimpleNamespace(sqrt=_unboxed(jnp.sqrt), sign=_unboxed(jnp.sign),
                     zeros_like=_unboxed(jnp.zeros_like), matmul=_unboxed(jnp.matmul),
                     reshape=_unboxed(jnp.reshape), mean=_unboxed(jnp.mean))


def _tensor(a: Any) -> jax.Array:
    """float32 NumPy -> JAX array (``jnp.asarray``: half the cost of ``device_put`` per batch)."""
    return jnp.asarray(np.asarray(unbox(a), dtype=np.float32))


def _variable(a: Any) -> Variable:
    """A box around a float32 array on JAX's default device (the CPU with the CPU wheel that
    ``d2l-optim[jax]`` installs). Not ``device_put`` to a device: a committed array would make
    the jitted step's outputs differ in placement from its first inputs, and compile twice."""
    return Variable(_tensor(a))


def _assign(target: Variable, value: Any) -> None:
    target.value = value


def _gradients(loss_fn: Callable[[], Any], params: list, analytic: Callable) -> list:
    """``jax.grad`` of ``loss_fn()``: the parameters' boxes hold JAX's tracers meanwhile."""
    saved = [p.value for p in params]

    def loss_of(values):
        for p, v in zip(params, values):
            p.value = v
        return loss_fn()
    try:
        return jax.grad(loss_of)(saved)
    finally:
        for p, v in zip(params, saved):
            p.value = v


def _compile(fn: Callable) -> Callable:
    """``compile=True``: ``fn`` as one ``jax.jit`` function. The boxes ``fn`` touches are
    ``fn.boxes`` if it lists them (the harness's steps do), else found by a first shape-only
    pass (``jax.eval_shape``); the jitted function takes their arrays and returns the new
    ones, which are put back in the boxes.

    A step that also carries ``fn.program``, a key for its whole computation (the library's
    own optimizers and optax's: the rule, its hyperparameters, the shapes), reuses the
    traced and compiled program of an earlier step with the same key, as a module-level
    ``jax.jit`` does in a script: a repeated run pays no trace at all (see :data:`PROGRAMS`).
    """
    listed = list(getattr(fn, 'boxes', ()))
    if not all(isinstance(box, Variable) for box in listed):
        listed = []                     # e.g. lazily made states: found by the shape-only pass
    program = getattr(fn, 'program', None) if listed else None
    jitted: list = []

    def call(*args):
        if not jitted:
            boxes = listed
            if not boxes:
                _TAPE.append({})
                try:
                    jax.eval_shape(fn, *args)
                finally:
                    touched = _TAPE.pop()
                    for box, value in touched.items():
                        box._value = value
                boxes = list(touched)
            if program in PROGRAMS:
                PROGRAMS[program] = PROGRAMS.pop(program)          # most recent last
                jitted[:] = [*PROGRAMS[program], boxes]
            else:
                jitted[:] = [jax.jit(_pure(fn, boxes)), {}, boxes]
                if program is not None:
                    PROGRAMS[program] = jitted[:2]
                    while len(PROGRAMS) > EXECUTABLES_KEPT:
                        PROGRAMS.pop(next(iter(PROGRAMS)))
        pure_jit, by_shape, boxes = jitted
        values = [box._value for box in boxes]
        shape = tuple((getattr(a, 'shape', None), getattr(a, 'dtype', type(a))) for a in args)
        if shape not in by_shape:           # once per batch shape: a short last batch once
            by_shape[shape] = _executable(pure_jit.lower(values, *args))
        new, out = by_shape[shape](values, *args)
        for box, value in zip(boxes, new):
            box._value = value
        return out
    return call


def _pure(fn: Callable, boxes: list) -> Callable:
    """``fn`` as a pure function of its boxes' arrays: (values, *args) -> (new values, out).
    It runs only while ``jax.jit`` traces, once per batch shape; a step that reuses the
    program of an earlier one (same ``fn.program``) gets that step's ``fn`` and boxes here,
    which compute the same thing."""
    def pure(values, *args):
        before = [box._value for box in boxes]
        for box, value in zip(boxes, values):
            box._value = value
        try:
            out = fn(*args)
            return [box._value for box in boxes], out
        finally:
            for box, value in zip(boxes, before):
                box._value = value
    return pure


#: traced programs by ``fn.program``: (jitted function, executables by batch shape), an LRU
PROGRAMS: dict[Any, list] = {}


#: XLA executables by the text of the program they run (an LRU of :data:`EXECUTABLES_KEPT`)
EXECUTABLES: dict[str, Any] = {}
EXECUTABLES_KEPT = 64


def _executable(lowered: Any) -> Any:
    """``lowered.compile()``, reused when the same program was compiled before.

    Every ``train_ch11(..., compile=True)`` builds a new step function, so ``jax.jit``'s
    own cache (per function) cannot help a second run; XLA's compile is most of a short
    run's time (0.3-0.5 s here for 2 airfoil epochs of about 0.1 s). The same rule with
    the same hyperparameters and shapes lowers to the same text, so its executable is
    reused: the second run of a cell pays only the trace (about 0.04 s).
    """
    key = lowered.as_text()
    exe = EXECUTABLES.pop(key, None) or lowered.compile()
    EXECUTABLES[key] = exe                 # most recent last
    while len(EXECUTABLES) > EXECUTABLES_KEPT:
        EXECUTABLES.pop(next(iter(EXECUTABLES)))
    return exe


#: the book's hyperparameter names -> optax's
OPTAX_NAMES = {'lr': 'learning_rate', 'gamma': 'decay', 'beta1': 'b1', 'beta2': 'b2'}


def optax_hyperparams(hyperparams: dict) -> dict:
    """The book's hyperparameters in optax's names (``lr`` -> ``learning_rate``, ``gamma`` ->
    ``decay``, ``beta1``/``beta2`` -> ``b1``/``b2``; ``momentum``, ``rho``, ``eps`` stay)."""
    hp: dict = {}
    for key, value in hyperparams.items():
        new = OPTAX_NAMES.get(key, key)
        if new in hp:
            book = next(k for k in hyperparams if OPTAX_NAMES.get(k) == new)
            raise ValueError(f"give either {book} or {new}, not both: {hyperparams}")
        hp[new] = value
    return hp


def _optax_factory(trainer: Any) -> Callable:
    """An optax optimizer factory (``optax.rmsprop``), or its name in any case."""
    if not isinstance(trainer, str):
        return trainer
    factories = {n: f for n, f in vars(optax).items()
                 if inspect.isfunction(f) and f.__module__.endswith('alias')}
    if trainer.lower() not in factories:
        raise ValueError(f"unknown optax optimizer {trainer!r}; choose one of: "
                         f"{', '.join(sorted(factories))}")
    return factories[trainer.lower()]


def _concise(trainer: Any, hyperparams: dict, w0: np.ndarray, b0: np.ndarray):
    """``(w, b)`` trained by ``trainer(**hyperparams)``, an optax optimizer: the pure
    ``init``/``update`` pair, with parameters and optimizer state kept in two boxes."""
    factory = _optax_factory(trainer)
    hp = optax_hyperparams(hyperparams)
    if factory is optax.adadelta:
        # The book's Adadelta has no learning rate. optax's learning_rate=None means "no
        # scaling", which also drops the sign flip: the step climbs the loss. 1.0 is descent.
        hp.setdefault('learning_rate', 1.0)
    try:
        optimizer = factory(**hp)
    except TypeError as e:
        raise ValueError(f"{getattr(factory, '__name__', factory)} does not take {hp}: {e}; "
                         f"it takes {inspect.signature(factory)}") from None
    params = Variable((_variable(w0).value, _variable(b0).value))
    opt_state = Variable(optimizer.init(params.value))

    def loss(ps, X, y):
        return jnp.mean(harness.squared_loss(harness.linreg(X, ps[0], ps[1], jnp), y, jnp))
    grad = jax.grad(loss)

    def step(X: jax.Array, y: jax.Array) -> None:
        updates, opt_state.value = optimizer.update(grad(params.value, X, y), opt_state.value,
                                                    params.value)
        params.value = optax.apply_updates(params.value, updates)
    step.boxes = (params, opt_state)        # what compile=True passes in and out of the jit
    program = ('optax', factory, tuple(sorted(hp.items())), w0.shape, b0.shape)
    try:                                    # the whole computation, for compile=True's reuse
        hash(program)
        step.program = program
    except TypeError:                       # an unhashable hyperparameter: traced every call
        pass
    return step, lambda X: harness.linreg(X, *params.value, jnp)


def _normal(mean: float, std: float, size: Any) -> jax.Array:
    """``d2l.normal(mean, std, size)`` from NumPy's global generator (as the NumPy backend);
    for JAX's own keys use ``jax.random.normal(key, shape)``."""
    return _tensor(np.random.normal(mean, std, size))


_backend = Backend(
    name='jax', xp=xp, tensor=_tensor, parameter=_variable, state=_variable,
    assign=_assign, gradients=_gradients, concise=_concise, compile=_compile,
    extras={
        'Variable': Variable, 'unbox': unbox,
        'arange': lambda *a, dtype=jnp.float32: jnp.arange(*a, dtype=dtype),
        'zeros': lambda shape, dtype=jnp.float32: jnp.zeros(shape, dtype=dtype),
        'tensor': lambda a, dtype=jnp.float32: jnp.asarray(unbox(a), dtype=dtype),
        'normal': _normal, 'numpy': lambda x: np.asarray(unbox(x)),
        'meshgrid': jnp.meshgrid, 'linspace': jnp.linspace, 'sin': jnp.sin, 'cos': jnp.cos,
        'sinh': jnp.sinh, 'cosh': jnp.cosh, 'tanh': jnp.tanh, 'exp': jnp.exp,
    },
)

globals().update(book_api(_backend))

# 11.11: LeNet, Fashion-MNIST and the train_ch6 names (kept in their own module).
from d2l_optim.backends.jax_lenet import *  # noqa: E402,F401,F403
