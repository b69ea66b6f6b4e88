"""Figures, live in Jupyter and quiet elsewhere: ``plot``, ``Animator``, ``Timer``.

Matplotlib is imported on first use, so importing the package stays light.
Everything accepts Python floats, NumPy arrays and any backend's tensors,
including lists that mix floats with 0-d or shape-(1,) tensors.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Sequence

import numpy as np

from .files import atomic_write
from .ops import to_numpy

_FIGSIZE = [(3.5, 2.5)]


def pyplot():
    """``matplotlib.pyplot``, imported on first use (importing the core draws nothing)."""
    import matplotlib.pyplot as plt
    return plt


_NON_INTERACTIVE = {'agg', 'cairo', 'pdf', 'pgf', 'ps', 'svg', 'template'}


def interactive_backend() -> bool:
    """Whether ``plt.show()`` can put a window on screen (an IDE or desktop session)."""
    import matplotlib
    return matplotlib.get_backend().lower() not in _NON_INTERACTIVE


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where figures are shown live, in the cell)."""
    shell = sys.modules.get('IPython')
    ip = shell.get_ipython() if shell and hasattr(shell, 'get_ipython') else None
    return ip is not None and 'IPKernelApp' in getattr(ip, 'config', {})


def use_svg_display() -> None:
    """Render inline figures as SVG in Jupyter (a no-op elsewhere)."""
    if in_notebook():
        from matplotlib_inline import backend_inline
        backend_inline.set_matplotlib_formats('svg')


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    use_svg_display()
    _FIGSIZE[0] = tuple(figsize)
    pyplot().rcParams['figure.figsize'] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend) -> None:
    axes.set_xlabel(xlabel), axes.set_ylabel(ylabel)
    axes.set_xscale(xscale), axes.set_yscale(yscale)
    axes.set_xlim(xlim), axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def _as_series(X: Any) -> list[np.ndarray]:
    """One 1-D array per curve, from whatever the book passes to ``plot``."""
    if isinstance(X, (list, tuple)) and X and not _is_flat(X):
        return [np.ravel(to_numpy(x)) for x in X]
    a = to_numpy(X)
    return [np.ravel(a)] if a.ndim <= 1 else [row for row in a]


def _is_flat(X: Sequence) -> bool:
    """A list of numbers (floats or one-element tensors) rather than a list of curves."""
    return all(np.size(to_numpy(x)) == 1 for x in X)


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
         xscale='linear', yscale='linear', fmts=('-', 'm--', 'g-.', 'r:'), figsize=None,
         axes=None):
    """Plot one or more curves, the book's way."""
    plt = pyplot()
    if axes is None:
        axes = plt.figure(figsize=figsize or _FIGSIZE[0]).gca()
    Xs = _as_series(X)
    if Y is None:
        Xs, Ys = [np.arange(len(x)) for x in Xs], Xs
    else:
        Ys = _as_series(Y)
    if len(Xs) != len(Ys):
        Xs = Xs * len(Ys)
    axes.cla()
    for x, y, fmt in zip(Xs, Ys, fmts * len(Ys)):
        axes.plot(x, y, fmt) if len(x) else axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend or [])
    return axes


class Timer:
    """Record running times: ``start``/``stop``, then ``sum``, ``avg``, ``cumsum``."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        self.tik = time.perf_counter()

    def stop(self) -> float:
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        return sum(self.times)

    def cumsum(self) -> list[float]:
        return np.array(self.times).cumsum().tolist()


def _sized(v: Any) -> bool:
    """A sequence of values, not a number or a 0-d tensor (which have __len__ but no length)."""
    return hasattr(v, '__len__') and len(getattr(v, 'shape', (1,))) != 0 and not isinstance(v, str)


def _values(v: Any) -> list:
    return list(v) if _sized(v) else [v]


class Animator:
    """Curves that grow point by point.

    In Jupyter the figure updates in place through a display handle (output
    printed earlier in the cell stays); in a script nothing is drawn until
    :meth:`save` or :meth:`show`, so stdout carries only the book's lines.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
                 xscale='linear', yscale='linear', fmts=('-', 'm--', 'g-.', 'r:'),
                 nrows=1, ncols=1, figsize=(3.5, 2.5)):
        self.config = dict(xlabel=xlabel, ylabel=ylabel, legend=legend or [], xlim=xlim,
                           ylim=ylim, xscale=xscale, yscale=yscale)
        self.fmts, self.figsize, self.shape = fmts, figsize, (nrows, ncols)
        self.X: list[list[float]] | None = None
        self.Y: list[list[float]] | None = None
        self.fig = self.axes = self._handle = None
        self.live = in_notebook()
        self._last_draw = 0.0

    def add(self, x, y) -> None:
        """Append a point to each curve: ``y`` a number, a 0-d tensor of any framework, or one
        value per curve (``x`` one for all or one per curve), as the book's cells pass them."""
        y, x = _values(y), x
        n = len(y)
        x = _values(x) if _sized(x) else [x] * n
        if self.X is None:
            self.X, self.Y = [[] for _ in range(n)], [[] for _ in range(n)]
        if n != len(self.X) or len(x) != n:
            got = f'{n} y value(s)' + (f' and {len(x)} x values' if len(x) != n else '')
            raise ValueError(f"Animator.add got {got}, but it draws {len(self.X)} curve(s) (fixed by "
                             f"the first add); pass one value per curve, None to skip one")
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(float(a))
                self.Y[i].append(float(b))
        if self.live and time.perf_counter() - self._last_draw > 0.1:
            self._show_live()

    def draw(self):
        """Draw every curve recorded so far; return the figure."""
        if self.fig is None:
            if self.live or interactive_backend():
                self.fig, axes = pyplot().subplots(*self.shape, figsize=self.figsize)
            else:   # headless: a figure pyplot does not track, so runs never pile up
                from matplotlib.figure import Figure
                self.fig = Figure(figsize=self.figsize)
                axes = self.fig.subplots(*self.shape)
            self.axes = axes if self.shape != (1, 1) else [axes]
        ax = self.axes[0]
        ax.cla()
        for x, y, fmt in zip(self.X or [], self.Y or [], self.fmts * 8):
            ax.plot(x, y, fmt)
        set_axes(ax, **self.config)
        return self.fig

    def _show_live(self) -> None:
        from IPython import display
        self.draw()
        if self._handle is None:
            self._handle = display.display(self.fig, display_id=True)
            pyplot().close(self.fig)   # shown through the handle, not again at cell end
        else:
            self._handle.update(self.fig)
        self._last_draw = time.perf_counter()

    def finish(self) -> None:
        """The final frame: updates the Jupyter output, or readies ``plt.show()`` in a
        desktop session; headless, nothing is drawn until :meth:`save`."""
        if self.live:
            self._show_live()
        elif interactive_backend():
            self.draw()

    def save(self, path) -> None:
        """Write the figure to ``path`` (format from the suffix), never leaving half a file."""
        save_figure(self.draw(), path)


def save_figure(fig, path) -> None:
    """``fig.savefig`` to ``path`` (format from the suffix) through :func:`atomic_write`."""
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format=str(path).rsplit('.', 1)[-1], bbox_inches='tight')
