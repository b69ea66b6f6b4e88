r"""The classic optimizer comparison on :math:`f(x, y) = x^2/20 + y^2`, run by :mod:`d2l_optim.optimizers`.

The function is twenty times steeper in :math:`y` than in :math:`x`, so one
learning rate cannot suit both directions: SGD zig-zags across the valley,
momentum overshoots and swings back, AdaGrad and Adam scale each coordinate
separately. Four runs from :math:`(-7, 2)`, 30 steps each, with the classic
courses' learning rates (SGD 0.95, Momentum 0.1, AdaGrad 1.5, Adam 0.3).

The steps are the book's rules, so the pictures differ slightly from those
courses' own: their AdaGrad and Adam add :math:`\epsilon = 10^{-7}` (some
:math:`10^{-8}`) outside the square root, where the book puts :math:`10^{-6}`
inside it for AdaGrad and outside the bias-corrected root for Adam, and their
Adam folds the bias correction into the learning rate. Over these 30 steps the
points move by at most 2e-6 (AdaGrad) and 3e-6 (Adam), invisible at the
pictures' scale. SGD and Momentum give the same points (to 1e-15), since a fixed
:math:`\eta` can move in or out of the velocity. Matplotlib is imported only by
the plotting functions.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .optimizers import SGD, AdaGrad, Adam, Momentum, Optimizer
from .plotting import in_notebook, interactive_backend, pyplot

START = (-7.0, 2.0)
STEPS = 30


def f(x, y):
    """:math:`x^2/20 + y^2`, minimum 0 at the origin (floats or arrays)."""
    return x ** 2 / 20.0 + y ** 2


def f_grad(x, y):
    """The gradient :math:`(x/10, 2y)`."""
    return x / 10.0, 2.0 * y


def comparison_optimizers() -> dict[str, Optimizer]:
    """Fresh optimizers with the classic comparison's learning rates, in drawing order."""
    return {'SGD': SGD(lr=0.95), 'Momentum': Momentum(lr=0.1, momentum=0.9),
            'AdaGrad': AdaGrad(lr=1.5), 'Adam': Adam(lr=0.3, beta1=0.9, beta2=0.999)}


def trajectory(optimizer: Optimizer, steps: int = STEPS, start: tuple[float, float] = START,
               grad: Callable = f_grad) -> np.ndarray:
    """The points visited by ``optimizer`` from ``start``: shape ``(steps + 1, 2)``, float64.

    ``params`` is the courses' dict ``{'x': ..., 'y': ...}`` of 0-d arrays,
    updated in place by ``optimizer.update``.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f'steps must be an integer >= 0, got {steps!r}')
    params = {'x': np.array(float(start[0])), 'y': np.array(float(start[1]))}
    points = [(float(params['x']), float(params['y']))]
    for _ in range(steps):
        gx, gy = grad(params['x'], params['y'])
        optimizer.update(params, {'x': np.asarray(gx), 'y': np.asarray(gy)})
        points.append((float(params['x']), float(params['y'])))
    return np.array(points)


def compare(steps: int = STEPS, start: tuple[float, float] = START) -> dict[str, np.ndarray]:
    """Every comparison optimizer's trajectory, by name."""
    return {name: trajectory(opt, steps, start) for name, opt in comparison_optimizers().items()}


# ---------------------------------------------------------------- figures

def new_figure(figsize: tuple[float, float]):
    """A pyplot figure in Jupyter or a desktop session; an untracked one when headless."""
    if in_notebook() or interactive_backend():
        return pyplot().figure(figsize=figsize)
    from matplotlib.figure import Figure
    return Figure(figsize=figsize)


_LEVELS = [0.25, 0.5, 1, 2, 3, 4.5, 6, 8, 10]


def plot_trajectories(trajectories: dict[str, np.ndarray], fig=None, ncols: int = 2):
    """One panel per optimizer: contour lines of f, the path, and the minimum marked."""
    n = len(trajectories)
    nrows = -(-n // ncols)
    fig = new_figure((4.2 * ncols, 3.0 * nrows)) if fig is None else fig
    gx, gy = np.meshgrid(np.linspace(-10, 10, 201), np.linspace(-5, 5, 101))
    z = f(gx, gy)
    for i, (name, pts) in enumerate(trajectories.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.contour(gx, gy, z, levels=_LEVELS, colors='#1f77b4', linewidths=0.7)
        ax.plot(pts[:, 0], pts[:, 1], 'o-', color='#d62728', markersize=3, linewidth=1)
        ax.plot(0, 0, '+', color='k', markersize=12, markeredgewidth=2)
        ax.set_xlim(-10, 10), ax.set_ylim(-5, 5)
        ax.set_title(name), ax.set_xlabel('x'), ax.set_ylabel('y')
    fig.tight_layout()
    return fig


def plot_surface(fig=None):
    """The surface of f in 3-D with its contour lines drawn on the floor below."""
    fig = new_figure((6.0, 4.5)) if fig is None else fig
    ax = fig.add_subplot(projection='3d')
    gx, gy = np.meshgrid(np.linspace(-10, 10, 81), np.linspace(-5, 5, 41))
    z = f(gx, gy)
    floor = -8.0
    ax.plot_surface(gx, gy, z, cmap='viridis', alpha=0.8, linewidth=0)
    ax.contour(gx, gy, z, levels=_LEVELS, zdir='z', offset=floor, cmap='viridis')
    ax.set_zlim(floor, z.max())
    ax.set_xlabel('x'), ax.set_ylabel('y'), ax.set_zlabel('f(x, y)')
    ax.set_title('f(x, y) = x²/20 + y²')
    return fig


def plot_gradient_field(fig=None):
    """Arrows of the negative gradient: nearly vertical, since y is 20 times steeper."""
    fig = new_figure((6.0, 3.5)) if fig is None else fig
    ax = fig.add_subplot()
    gx, gy = np.meshgrid(np.arange(-10, 10.5, 1.0), np.arange(-5, 5.5, 1.0))
    dx, dy = f_grad(gx, gy)
    ax.quiver(gx, gy, -dx, -dy, angles='xy', color='#444444')
    ax.plot(0, 0, '+', color='#d62728', markersize=12, markeredgewidth=2)
    ax.set_xlim(-10.5, 10.5), ax.set_ylim(-5.5, 5.5)
    ax.set_xlabel('x'), ax.set_ylabel('y'), ax.set_title('−∇f(x, y)')
    return fig
