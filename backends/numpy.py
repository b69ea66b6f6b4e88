"""NumPy backend: plain arrays, gradients of the linear model in closed form.

Like the book's TensorFlow tab, optimizers take gradients as a separate list:
``rmsprop(params, grads, states, hyperparams)``.
"""
from __future__ import annotations

import numpy as np

from d2l_optim.backend import Backend
from d2l_optim.book_api import book_api
from d2l_optim.airfoil import linreg_gradients
from d2l_optim.ops import numpy_ops
from d2l_optim.hyperparams import validate_hyperparams
from d2l_optim.rules import apply_rule, get_rule


def _assign(target: np.ndarray, value: np.ndarray) -> None:
    target[...] = value


def _gradients(loss_fn, params, analytic):
    return analytic()


def _concise(trainer, hyperparams, w0, b0):
    """NumPy has no optimizer library: a rule name (``'rmsprop'``) picks a core rule."""
    rule = get_rule(trainer)
    validate_hyperparams(hyperparams, rule)
    params = [w0.copy(), b0.copy()]
    states: list = [None, None]     # apply_rule creates each state on first use

    def step(X, y):
        grads = linreg_gradients(X, y, *params)
        params[:], states[:] = apply_rule(rule, params, grads, states, hyperparams, numpy_ops)
    return step, lambda X: X @ params[0] + params[1]


_backend = Backend(
    name='numpy', xp=numpy_ops,
    tensor=lambda a: np.asarray(a, dtype=np.float32),
    parameter=lambda a: np.array(a, dtype=np.float32),
    state=lambda a: np.array(a, dtype=np.float32),
    assign=_assign, gradients=_gradients, concise=_concise,
    extras={
        'arange': np.arange, 'zeros': lambda *s, **k: np.zeros(*s, dtype=k.get('dtype', np.float32)),
        'tensor': lambda a, dtype=np.float32: np.array(a, dtype=dtype),
        'normal': lambda mean, std, size: np.random.normal(mean, std, size).astype(np.float32),
        'numpy': np.asarray, 'meshgrid': np.meshgrid, 'linspace': np.linspace,
        'sin': np.sin, 'cos': np.cos, 'sinh': np.sinh, 'cosh': np.cosh, 'tanh': np.tanh,
        'exp': np.exp,
    },
)

globals().update(book_api(_backend))

# 11.11: LeNet, Fashion-MNIST and the train_ch6 names (kept in their own module).
from d2l_optim.backends.numpy_lenet import *  # noqa: E402,F401,F403
