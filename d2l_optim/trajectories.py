"""The 1-D and 2-D trajectories of 11.3-11.10: the rules run on Python floats, and their plots.

``gd_1d`` and ``newton`` trace a scalar, ``trainer_2d`` turns a core rule into the book's
2-D trainer ``(x1, x2, s1, s2) -> (x1, x2, s1, s2)`` and ``train_2d`` runs it from (-5, -2);
``show_trace`` and ``show_trace_2d`` draw a trajectory over the function (evaluated on a
backend's tensors when ``backend`` is given, as the book's cells do).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .hyperparams import validate_hyperparams
from .ops import scalar_ops, to_numpy, to_scalar
from .plotting import plot, pyplot, set_figsize
from .rules import Rule, apply_rule, get_rule


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
