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


#: sets in the plane as membership tests on (n, 2) points: two convex, a nonconvex crescent,
#: and the intersection (convex) and union (not convex) of two overlapping disks
SETS = {
    'disk': lambda p: (p ** 2).sum(-1) <= 1,
    'diamond': lambda p: np.abs(p).sum(-1) <= 1,
    'crescent': lambda p: ((p ** 2).sum(-1) <= 1) & (((p - [0.6, 0]) ** 2).sum(-1) > 0.8 ** 2),
    'disks: intersection': lambda p: (((p - [0.5, 0]) ** 2).sum(-1) <= 1) & (((p + [0.5, 0]) ** 2).sum(-1) <= 1),
    'disks: union': lambda p: (((p - [0.9, 0]) ** 2).sum(-1) <= 0.5) | (((p + [0.9, 0]) ** 2).sum(-1) <= 0.5),
}


#: a chord between two points of the set, drawn in each panel (both ends inside)
CHORDS = {'crescent': [(0.2, 0.85), (0.2, -0.85)], 'disks: union': [(-0.9, 0.3), (0.9, -0.3)]}


def chords_inside(inside: Callable, n: int = 2000, seed: int = 0) -> float:
    """The share of ``n`` random chords of a set whose random point lambda a + (1 - lambda) b
    is in the set too: 1 for a convex set (the definition, tested), below 1 otherwise."""
    rng = np.random.default_rng(seed)
    box = rng.uniform(-2, 2, size=(40 * n, 2))
    pts = box[inside(box)]
    a, b, lam = pts[:n], pts[n:2 * n], rng.uniform(0, 1, size=(n, 1))
    return float(inside(lam * a + (1 - lam) * b).mean())


def sets_figure(n: int = 2000, seed: int = 0):
    """11.2: the five sets of :data:`SETS` with one chord each (red when it leaves the set);
    returns the figure and each set's share of random chords that stay inside."""
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 241), np.linspace(-1.5, 1.5, 181)), -1)
    fig, axes = new_figure((12, 2.2), 1, len(SETS))
    for ax, (name, inside) in zip(axes, SETS.items()):
        ax.contourf(grid[..., 0], grid[..., 1], inside(grid), levels=[0.5, 1.5], colors=['#9ecae1'])
        a, b = np.array(CHORDS.get(name, [(-0.1, 0.6), (-0.1, -0.6)]))
        line = a + np.linspace(0, 1, 50)[:, None] * (b - a)
        ax.plot(*line.T, color='#2ca02c' if inside(line).all() else '#d62728')
        ax.set_title(name, fontsize=9)
        ax.set_aspect('equal')
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, {name: chords_inside(inside, n, seed) for name, inside in SETS.items()}


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
