"""The chapter's test functions and their gradients: 11.3's nonconvex x cos(c x), the
quadratic of 11.3/11.4 and the ill-conditioned one of 11.6-11.8."""
from __future__ import annotations

import numpy as np

C_NONCONVEX = 0.15 * np.pi


def f_nonconvex(x):
    """11.3's nonconvex example x cos(c x), c = 0.15 pi."""
    return x * np.cos(C_NONCONVEX * x)


def f_nonconvex_grad(x):
    return np.cos(C_NONCONVEX * x) - C_NONCONVEX * x * np.sin(C_NONCONVEX * x)


def f_nonconvex_hess(x):
    c = np.float32(C_NONCONVEX)
    return -2 * c * np.sin(c * x) - x * c ** 2 * np.cos(c * x)


def f_nonconvex_grad32(x):
    """The gradient in float32, as the book's tensors compute it (Newton's printed digits)."""
    c = np.float32(C_NONCONVEX)
    return np.cos(c * x) - c * x * np.sin(c * x)


def f_2d(x1, x2):
    """11.3/11.4's f(x) = x1^2 + 2 x2^2."""
    return x1 ** 2 + 2 * x2 ** 2


def f_2d_grad(x1, x2):
    return 2 * x1, 4 * x2


def f_ill(x1, x2):
    """11.6-11.8's ill-conditioned f(x) = 0.1 x1^2 + 2 x2^2."""
    return 0.1 * x1 ** 2 + 2 * x2 ** 2


def f_ill_grad(x1, x2):
    return 0.2 * x1, 4 * x2

