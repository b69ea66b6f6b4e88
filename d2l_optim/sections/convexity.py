"""11.2 Convexity: chords, local minima of convex functions, Jensen's inequality."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..plotting import plot
from .registry import figure_experiment, new_figure


def secant_gap(f: Callable, a: Any, b: Any, n: int = 201) -> float:
    """max over lambda of f(lambda a + (1-lambda) b) - (lambda f(a) + (1-lambda) f(b)):
    <= 0 on every segment exactly when f is convex (11.2's definition). ``a`` and ``b`` may
    be vectors; ``f`` then maps an (n, d) array to n values."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    lam = np.linspace(0.0, 1.0, n).reshape((n,) + (1,) * a.ndim)
    return float(np.max(f(lam * a + (1 - lam) * b) - (lam.ravel() * f(a) + (1 - lam.ravel()) * f(b))))


CONVEXITY_EXAMPLES = {
    '0.5 x^2 (convex)': lambda x: 0.5 * x ** 2,
    'cos(pi x) (nonconvex)': lambda x: np.cos(np.pi * x),
    'exp(0.5 x) (convex)': lambda x: np.exp(0.5 * x),
}


def convexity_figure(segment: tuple[float, float] = (-1.5, 1.0)):
    """11.2: three functions with the chord between ``segment``; only the nonconvex one
    rises above its chord."""
    x = np.arange(-2.0, 2.0, 0.01)
    seg = np.array(segment)
    fig, axes = new_figure((9, 3), 1, 3)
    gaps = {}
    for ax, (label, f) in zip(axes, CONVEXITY_EXAMPLES.items()):
        plot([x, seg], [f(x), f(seg)], axes=ax)
        ax.set_title(label, fontsize=9)
        gaps[label] = secant_gap(f, *segment)
    return fig, gaps


def convex_local_minimum_figure():
    """11.2: for a convex f, (x - 1)^2 here, a local minimum is global; the chord lies above."""
    x, seg = np.arange(-2.0, 2.0, 0.01), np.array([-1.5, 1.0])
    f = lambda x: (x - 1) ** 2  # noqa: E731
    fig, ax = new_figure()
    plot([x, seg], [f(x), f(seg)], 'x', 'f(x)', axes=ax)
    return fig, {'secant_gap': secant_gap(f, -1.5, 1.0)}


def jensen_figure(seed: int = 0, n: int = 2000):
    """11.2: Jensen's inequality E[f(X)] >= f(E[X]) for convex f = exp(0.5 x), X ~ N(0, 1)."""
    f = lambda x: np.exp(0.5 * x)  # noqa: E731
    X = np.random.default_rng(seed).normal(0.0, 1.0, n)
    mean_f, f_mean = float(f(X).mean()), float(f(X.mean()))
    x = np.arange(-3.0, 3.0, 0.01)
    fig, ax = new_figure()
    plot(x, f(x), 'x', 'f(x)', axes=ax)
    ax.plot(X[:60], f(X[:60]), '.', alpha=0.4)
    ax.axhline(mean_f, color='g', ls='--', label='E[f(X)]')
    ax.axhline(f_mean, color='r', ls=':', label='f(E[X])')
    ax.legend(fontsize=8)
    return fig, {'E_f_X': mean_f, 'f_E_X': f_mean, 'exact_E_f_X': math.exp(0.125)}


figure_experiment('11.2', 'convex-functions', 'convex and nonconvex functions with a chord',
                   convexity_figure,
                   lambda v: 'max(f - chord): ' + ', '.join(f'{k} {g:+.3f}' for k, g in v.items()))
figure_experiment('11.2', 'local-minimum', 'a convex function: local minimum is global',
                   convex_local_minimum_figure, lambda v: f"max(f - chord) {v['secant_gap']:+.3f}")
figure_experiment('11.2', 'jensen', "Jensen's inequality for exp(0.5 x), X ~ N(0, 1)", jensen_figure,
                   lambda v: f"E[f(X)] {v['E_f_X']:.4f} >= f(E[X]) {v['f_E_X']:.4f} "
                             f"(exact E[f(X)] = e^(1/8) = {v['exact_E_f_X']:.4f})")
