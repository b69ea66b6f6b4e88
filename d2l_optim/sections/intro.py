"""11.1 Optimization and Deep Learning: risk vs empirical risk, local minima, saddle points,
vanishing gradients (the exercises' code is in the section's notebook)."""
from __future__ import annotations

import numpy as np

from ..plotting import plot
from .registry import annotate, figure_experiment, new_figure


def risk(x):
    """The 'true' risk of 11.1: f(x) = x cos(pi x)."""
    return x * np.cos(np.pi * x)


def empirical_risk(x):
    """Risk plus a wiggle, as a finite sample sees it: g(x) = f(x) + 0.2 cos(5 pi x)."""
    return risk(x) + 0.2 * np.cos(5 * np.pi * x)


def risk_figure():
    """11.1: the minimum of the empirical risk is not the minimum of the risk."""
    x = np.arange(0.5, 1.5, 0.01)
    fig, ax = new_figure((4.5, 2.5))
    plot(x, [risk(x), empirical_risk(x)], 'x', 'risk', axes=ax, legend=['risk', 'empirical risk'])
    i, j = int(np.argmin(empirical_risk(x))), int(np.argmin(risk(x)))
    annotate(ax, 'min of\nempirical risk', (x[i], empirical_risk(x[i])), (0.5, -1.1))
    annotate(ax, 'min of risk', (x[j], risk(x[j])), (1.1, -0.8))
    return fig, {'argmin_risk': float(x[j]), 'argmin_empirical_risk': float(x[i])}


def local_minima_figure():
    """11.1: x cos(pi x) on [-1, 2] has a local minimum near -0.3 and the global one near 1.1."""
    x = np.arange(-1.0, 2.0, 0.01)
    fig, ax = new_figure()
    plot(x, risk(x), 'x', 'f(x)', axes=ax)
    i = int(np.argmin(np.where(x < 0.5, risk(x), np.inf)))
    j = int(np.argmin(risk(x)))
    annotate(ax, 'local minimum', (x[i], risk(x[i])), (-0.77, -1.0))
    annotate(ax, 'global minimum', (x[j], risk(x[j])), (-0.5, 1.1))
    return fig, {'local_min_x': float(x[i]), 'global_min_x': float(x[j])}


def saddle_figure():
    """11.1: x^3 has zero gradient at 0 without a minimum there."""
    x = np.arange(-2.0, 2.0, 0.01)
    fig, ax = new_figure()
    plot(x, x ** 3, 'x', 'f(x)', axes=ax)
    annotate(ax, 'saddle point', (0, -0.2), (-0.52, -5.0))
    return fig, {'f_prime_at_0': 0.0}


def saddle_3d_figure():
    """11.1: f(x, y) = x^2 - y^2, a saddle at the origin (a minimum along x, a maximum along y)."""
    x, y = np.meshgrid(np.linspace(-1.0, 1.0, 101), np.linspace(-1.0, 1.0, 101))
    z = x ** 2 - y ** 2
    fig, ax = new_figure((4, 3.5), subplot_kw={'projection': '3d'})
    ax.plot_wireframe(x, y, z, rstride=10, cstride=10)
    ax.plot([0], [0], [0], 'rx')
    ax.set_xlabel('x'), ax.set_ylabel('y')
    return fig, {'hessian_eigenvalues': (2.0, -2.0)}


def vanishing_gradient_figure():
    """11.1: tanh saturates; at x = 4 its gradient 1 - tanh(4)^2 is about 0.0013."""
    x = np.arange(-2.0, 5.0, 0.01)
    fig, ax = new_figure()
    plot(x, np.tanh(x), 'x', 'f(x)', axes=ax)
    annotate(ax, 'vanishing gradient', (4, 1), (2, 0.0))
    return fig, {'grad_at_4': float(1 - np.tanh(4.0) ** 2)}


figure_experiment('11.1', 'risk', 'empirical risk vs risk', risk_figure,
                   lambda v: f"argmin risk {v['argmin_risk']:.2f}, "
                             f"argmin empirical risk {v['argmin_empirical_risk']:.2f}")
figure_experiment('11.1', 'local-minima', 'local and global minimum of x cos(pi x)', local_minima_figure,
                   lambda v: f"local min at {v['local_min_x']:.2f}, global min at {v['global_min_x']:.2f}")
figure_experiment('11.1', 'saddle', 'saddle point of x^3', saddle_figure, lambda v: "f'(0) = 0, no minimum")
figure_experiment('11.1', 'saddle-3d', 'saddle point of x^2 - y^2', saddle_3d_figure,
                   lambda v: 'Hessian eigenvalues 2, -2')
figure_experiment('11.1', 'vanishing-gradient', 'vanishing gradient of tanh', vanishing_gradient_figure,
                   lambda v: f"tanh'(4) = {v['grad_at_4']:.5f}")
