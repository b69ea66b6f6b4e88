"""Sliders over a 2-D trajectory, in the spirit of Distill's "Why Momentum Really Works".

``trajectory_sliders(f, f_grad, 'momentum', {'lr': (0.05, 1.0, 0.05, 0.6), 'momentum':
(0.0, 0.95, 0.05, 0.5), 'steps': (5, 60, 5, 20)}).show()`` in Jupyter with ipywidgets
shows one widget: the figure (an ``ipywidgets.Image``) with one slider per hyperparameter
under it. Moving a slider recomputes the trajectory with the core rule
(:func:`~d2l_optim.trajectories.trainer_2d` and :func:`~d2l_optim.trajectories.train_2d`, the loop
every 2-D cell uses) and puts the new PNG in the Image. The figure is widget state, kept
by the kernel, so after a page reload (or closing and reopening the tab) the restored
widget still redraws while the kernel lives; ``show()`` returns None, so no stale text
line sits under it. Where widgets cannot display (ipywidgets missing, a terminal,
nbconvert or CI, or ``D2L_OPTIM_WIDGETS=0``) the cell shows the static figure at the
default values and one sentence saying how to get the sliders. ``.redraw(**values)`` is
the callback itself, usable (and tested) without a front end.
"""
from __future__ import annotations

import base64
import html
import io
import os
from contextlib import redirect_stdout
from typing import Any, Callable, Mapping

import numpy as np

from .trajectories import train_2d, trainer_2d
from .ops import to_scalar

__all__ = ['TrajectorySliders', 'trajectory_sliders', 'widgets_unavailable', 'HOW_TO_GET_SLIDERS']

#: the sentence a static figure comes with
HOW_TO_GET_SLIDERS = ('Sliders need ipywidgets in a live Jupyter session: pip install "d2l-optim[notebooks]" '
                      'and open this notebook in Jupyter to move them '
                      '(the figure is drawn at the values in its title).')
#: set to 0 to always draw the static figure
WIDGETS_ENV = 'D2L_OPTIM_WIDGETS'

Slider = tuple  # (lo, hi, step, default)


def widgets_unavailable() -> str | None:
    """Why sliders cannot be shown here (a sentence), or None when they can."""
    if os.environ.get(WIDGETS_ENV, '').strip().lower() in ('0', 'false', 'no', 'off'):
        return f'{WIDGETS_ENV}=0'
    if os.environ.get('CI'):
        return 'running under CI'
    try:
        from IPython import get_ipython
    except ImportError:
        return 'not in Jupyter'
    shell = get_ipython()
    if shell is None or 'IPKernelApp' not in getattr(shell, 'config', {}):
        return 'not in a Jupyter kernel'
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return 'ipywidgets is not installed'
    return None


def _ipython_display() -> Callable | None:
    """IPython's ``display`` inside an IPython session, else None (a script prints instead)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    return display if get_ipython() is not None else None


class _FigureView:
    """A matplotlib figure as PNG for Jupyter's display (works whatever the pyplot backend)."""

    def __init__(self, fig: Any, caption: str) -> None:
        self.fig, self.caption = fig, caption

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.fig.savefig(buf, format='png', dpi=90, bbox_inches='tight')
        return buf.getvalue()

    def __repr__(self) -> str:
        return self.caption


class TrajectorySliders:
    """A 2-D trajectory of a core rule whose hyperparameters (and step count) are sliders."""

    def __init__(self, f: Callable, f_grad: Callable, rule: Any, sliders: Mapping[str, Slider],
                 steps: int = 20, x0: tuple[float, float] = (-5.0, -2.0),
                 xlim: tuple[float, float] = (-5.5, 2.0), ylim: tuple[float, float] = (-3.0, 3.0)) -> None:
        for name, spec in sliders.items():
            if len(spec) != 4 or not spec[0] <= spec[3] <= spec[1] or spec[2] <= 0:
                raise ValueError(f'slider {name!r} must be (lo, hi, step, default) with lo <= default <= hi '
                                 f'and step > 0, got {spec!r}')
        self.f, self.f_grad, self.rule, self.x0 = f, f_grad, rule, x0
        self.sliders = dict(sliders)
        self.values = {name: spec[3] for name, spec in self.sliders.items()}
        self.values.setdefault('steps', steps)
        self.xlim, self.ylim = xlim, ylim
        self.results: list[tuple[float, float]] = []
        self.image: Any = None           # the ipywidgets.Image every redraw refills (once shown)
        self.controls: Any = None        # the sliders
        self.box: Any = None             # the figure and the sliders, one widget
        self.fig = self.ax = None

    # ------------------------------------------------------------ computing and drawing

    def trajectory(self, **values: float) -> list[tuple[float, float]]:
        """The points of the trajectory at ``values`` (others at their current value)."""
        hp = {**self.values, **values}
        steps = int(hp.pop('steps'))
        trainer = trainer_2d(self.rule, self.f_grad, **hp)
        with redirect_stdout(io.StringIO()):          # train_2d prints the book's line; the title has it
            return train_2d(trainer, steps, x0=self.x0)

    def redraw(self, **values: float) -> tuple[float, float]:
        """Recompute the trajectory at ``values``, redraw the figure in place, return the last point."""
        unknown = sorted(set(values) - set(self.values))
        if unknown:
            raise ValueError(f"unknown slider(s) {', '.join(unknown)}; the sliders are: {', '.join(self.values)}")
        self.values.update(values)
        self.results = self.trajectory()
        self._draw()
        if self.image is not None:
            self.image.value = self.png()
        x1, x2 = self.results[-1]
        return to_scalar(x1), to_scalar(x2)

    def _draw(self) -> None:
        if self.fig is None:
            from matplotlib.figure import Figure
            self.fig = Figure(figsize=(4.5, 3.2))
            self.ax = self.fig.subplots()
        ax = self.ax
        ax.clear()
        g1, g2 = np.meshgrid(np.linspace(*self.xlim, 120), np.linspace(*self.ylim, 120))
        ax.contour(g1, g2, self.f(g1, g2), 15, colors='#1f77b4', linewidths=0.7)
        pts = np.array([[to_scalar(a), to_scalar(b)] for a, b in self.results], dtype=float)
        with np.errstate(invalid='ignore'):
            ax.plot(pts[:, 0], pts[:, 1], '-o', color='#ff7f0e', markersize=3)
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_xlabel('x1')
        ax.set_ylabel('x2')
        ax.set_title(self.caption(), fontsize=8)

    def caption(self) -> str:
        """The rule, its values and where it ended, e.g. ``momentum lr=0.6 momentum=0.5: ...``."""
        name = getattr(self.rule, 'name', self.rule)
        parts = ' '.join(f'{k}={v:g}' for k, v in self.values.items())
        x1, x2 = (to_scalar(v) for v in self.results[-1]) if self.results else (float('nan'),) * 2
        return f'{name} {parts}: x1 {x1:.4g}, x2 {x2:.4g}'

    def view(self) -> _FigureView:
        """The current figure, displayable in Jupyter (PNG) and as its caption elsewhere."""
        return _FigureView(self.fig, self.caption())

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        return self.view()._repr_png_()

    # ------------------------------------------------------------ showing

    def widgets(self) -> Any:
        """One ipywidgets slider per hyperparameter (an IntSlider for ``steps``), in a VBox (made once)."""
        if self.controls is not None:
            return self.controls
        import ipywidgets as w
        controls = []
        for name, value in self.values.items():
            lo, hi, step, _ = self.sliders.get(name, (1, max(100, 5 * int(value)), 1, value))
            cls = w.IntSlider if name == 'steps' else w.FloatSlider
            kw = {} if name == 'steps' else {'readout_format': '.3g'}
            slider = cls(value=value, min=lo, max=hi, step=step, description=name,
                         continuous_update=False, **kw)
            slider.observe(lambda change, name=name: self.redraw(**{name: change['new']}), names='value')
            controls.append(slider)
        self.controls = w.VBox(controls)
        return self.controls

    def figure_widget(self) -> Any:
        """The figure as an ``ipywidgets.Image`` (made once); :meth:`redraw` refills it."""
        if self.image is None:
            import ipywidgets as w
            if not self.results:
                self.redraw()
            self.image = w.Image(value=self.png(), format='png')
        return self.image

    def widget(self) -> Any:
        """The figure with the sliders under it, one ``ipywidgets.VBox`` (made once)."""
        if self.box is None:
            import ipywidgets as w
            self.box = w.VBox([self.figure_widget(), self.widgets()])
        return self.box

    def mimebundle(self) -> dict:
        """The widget's view, with the figure and the sentence saying how to get the sliders
        for a front end that cannot draw widgets (nbconvert, a static viewer of the saved
        notebook); a live one draws the widget."""
        png = base64.b64encode(self.png()).decode('ascii')
        bundle = dict(self.widget()._repr_mimebundle_())
        bundle['image/png'] = png
        bundle['text/html'] = (f'<img src="data:image/png;base64,{png}" alt="{html.escape(self.caption())}"/>'
                               f'<p>{HOW_TO_GET_SLIDERS}</p>')
        bundle['text/plain'] = HOW_TO_GET_SLIDERS
        return bundle

    def show(self) -> None:
        """Display the figure and, when widgets can display here, the sliders under it, as one
        widget; otherwise the static figure and the sentence saying how to get the sliders."""
        self.redraw()
        display = _ipython_display()
        if display is None:
            print(self.caption())
            print(HOW_TO_GET_SLIDERS)
        elif widgets_unavailable() is None:
            display(self.mimebundle(), raw=True)
        else:
            display(self.view())
            print(HOW_TO_GET_SLIDERS)

    def _ipython_display_(self) -> None:
        """A cell ending in the object shows it as :meth:`show` does (not a text line)."""
        self.show()

    def __repr__(self) -> str:
        return f'<trajectory sliders: {self.caption()}>'


def trajectory_sliders(f: Callable, f_grad: Callable, rule: Any, sliders: Mapping[str, Slider],
                       steps: int = 20, x0: tuple[float, float] = (-5.0, -2.0), **kwargs: Any) -> TrajectorySliders:
    """Sliders over the 2-D trajectory of the core ``rule`` on ``f`` (see the module's docstring).

    ``sliders`` maps hyperparameter names (``lr`` or ``eta``, ``momentum``, ``gamma``, ...)
    to ``(lo, hi, step, default)``; an optional ``'steps'`` entry makes the number of steps
    a slider too (default ``steps``). ``xlim``/``ylim`` set the view.
    """
    return TrajectorySliders(f, f_grad, rule, sliders, steps, x0, **kwargs)
