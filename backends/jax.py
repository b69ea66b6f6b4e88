"""JAX backend: ``from d2l_optim.backends import jax as d2l``.

JAX's quirks, and only those. **JAX arrays are immutable**, so "in place" needs a
holder (:mod:`~d2l_optim.backends.jax_boxes`, with ``compile=True`` over such holders):
parameters and optimizer states are :class:`Variable` boxes, each holding one
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

from d2l_optim import airfoil
from d2l_optim.backend import Backend
from d2l_optim.backends.jax_boxes import (EXECUTABLES, EXECUTABLES_KEPT, PROGRAMS, Variable,  # noqa: F401
                                          compile_step, unbox)
from d2l_optim.book_api import book_api

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
        return jnp.mean(airfoil.squared_loss(airfoil.linreg(X, ps[0], ps[1], jnp), y, jnp))
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
    return step, lambda X: airfoil.linreg(X, *params.value, jnp)


def _normal(mean: float, std: float, size: Any) -> jax.Array:
    """``d2l.normal(mean, std, size)`` from NumPy's global generator (as the NumPy backend);
    for JAX's own keys use ``jax.random.normal(key, shape)``."""
    return _tensor(np.random.normal(mean, std, size))


_backend = Backend(
    name='jax', xp=xp, tensor=_tensor, parameter=_variable, state=_variable,
    assign=_assign, gradients=_gradients, concise=_concise, compile=compile_step,
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
