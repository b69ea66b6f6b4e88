"""A toy backend, written the way README.md's "Add a backend" says (tests/test_extending.py
registers it and trains on it): NumPy arrays again, with only what an adapter must supply.
"""
from __future__ import annotations

import numpy as np

from d2l_optim.backend import Backend
from d2l_optim.book_api import book_api
from d2l_optim.ops import numpy_ops


def assign(target: np.ndarray, value: np.ndarray) -> None:
    np.copyto(target, value)                    # in place: the optimizers write through it


def gradients(loss_fn, params, analytic):
    return analytic()                           # no autograd: the linear model's closed form


def concise(trainer, hyperparams, w0, b0):
    raise ValueError('the toy backend has no optimizers of its own: use train_ch11')


def as_float32(a) -> np.ndarray:
    return np.array(a, dtype=np.float32)


record = Backend(name='toy', xp=numpy_ops, tensor=as_float32, parameter=as_float32, state=as_float32,
                 assign=assign, gradients=gradients, concise=concise)

globals().update(book_api(record))
