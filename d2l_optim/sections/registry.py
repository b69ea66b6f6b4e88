"""The chapter's experiment registry: what ``d2l-optim reproduce`` runs and checks against the book.

Every experiment is an :class:`Experiment`: its section, a name, and a function
``fn(d2l, ctx) -> Result`` that runs it on one backend module (``d2l``) through the
core (``gd_1d``, ``newton``, ``trainer_2d``/``train_2d``, ``fit_ch11``,
``fit_concise_ch11``, ...). Experiments on Python floats (the 1-D and 2-D ones) do
not touch a framework, so they run once and are reported as backend ``core``.
Each section's experiments live in the module named for it (``rmsprop.py`` for 11.8);
this module holds the records, the registry and the figure helpers they share.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import time
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Iterable

from .. import plotting
from ..backend import BackendUnavailable, installed_backends, load_backend
from ..harness import Run

SECTIONS = ('11.1', '11.2', '11.3', '11.4', '11.5', '11.6', '11.7', '11.8', '11.9', '11.10')
SECTION_TITLES = {
    '11.1': 'Optimization and Deep Learning', '11.2': 'Convexity', '11.3': 'Gradient Descent',
    '11.4': 'Stochastic Gradient Descent', '11.5': 'Minibatch Stochastic Gradient Descent',
    '11.6': 'Momentum', '11.7': 'Adagrad', '11.8': 'RMSProp', '11.9': 'Adadelta',
    '11.10': 'Adam',
}
CORE = 'core'       # the backend label of experiments that run on Python floats only
BACKENDS_ENV = 'D2L_OPTIM_BACKENDS'     # limits the backends of the cross-backend cells


@dataclass
class Result:
    """What one experiment produced on one backend."""

    values: dict[str, float] = field(default_factory=dict)   # named numbers
    text: str = ''                       # "our value" as the report shows it (the book's line)
    figures: dict[str, Any] = field(default_factory=dict)    # name -> matplotlib Figure
    runs: list[Run] = field(default_factory=list)             # airfoil runs, for overlays
    sec_per_epoch: float = math.nan
    wall_s: float = math.nan
    note: str = ''


@dataclass
class Context:
    """Shared by the experiments of one backend: the seed and the results so far."""

    seed: int = 0
    results: dict[str, Result] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """One experiment of the chapter; ``book`` names its entry in ``book_results.json``."""

    section: str
    name: str
    title: str
    fn: Callable[[Any, Context], Result]
    per_backend: bool = True
    book: str | None = None          # a key of book_results()['losses'] or ['traces']

    @property
    def key(self) -> str:
        return f'{self.section}/{self.name}'


EXPERIMENTS: dict[str, Experiment] = {}


def experiment(section: str, name: str, title: str, *, per_backend: bool = True,
               book: str | None = None) -> Callable:
    """Register ``fn(d2l, ctx) -> Result`` as an experiment of ``section``."""
    def register(fn: Callable) -> Callable:
        exp = Experiment(section, name, title, fn, per_backend, book)
        EXPERIMENTS[exp.key] = exp
        return fn
    return register


def select(sections: Iterable[str] | None = None) -> list[Experiment]:
    """The experiments of ``sections`` (all if None), in chapter order."""
    if sections is None:
        wanted = set(SECTIONS)
    else:
        wanted = {str(s).strip() for s in sections}
        bad = sorted(wanted - set(SECTIONS))
        if bad:
            raise ValueError(f"unknown section(s) {', '.join(bad)}; choose from: {', '.join(SECTIONS)}"
                             ", 11.11")
    return [e for e in EXPERIMENTS.values() if e.section in wanted]


def run(exp: Experiment, d2l: Any, ctx: Context | None = None) -> Result:
    """Run one experiment, timing it; the result is remembered in ``ctx``."""
    ctx = ctx if ctx is not None else Context()
    start = time.perf_counter()
    result = exp.fn(d2l, ctx)
    result.wall_s = time.perf_counter() - start
    ctx.results[exp.key] = result
    return result


@lru_cache(maxsize=1)
def book_results() -> dict:
    """The book's printed numbers (``d2l_optim/book_results.json``) with their sources."""
    return json.loads(resources.files('d2l_optim').joinpath('book_results.json').read_text('utf-8'))


def available_backends(names: Iterable[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Backends that import here, and why the others do not (name -> reason)."""
    names = list(names) if names is not None else installed_backends()
    ok, skipped = [], {}
    for name in names:
        try:
            load_backend(name)
            ok.append(name)
        except (BackendUnavailable, ImportError) as e:
            skipped[name] = str(e)
    return ok, skipped

# ---------------------------------------------------------------- figures


def new_figure(figsize: tuple[float, float] = (3.5, 2.5), nrows: int = 1, ncols: int = 1, **kw):
    """``(fig, axes)``: a pyplot figure in Jupyter or a desktop session (shown at cell end),
    a free-standing one headless, so scripts never pile figures up in pyplot."""
    if plotting.in_notebook() or plotting.interactive_backend():
        return plotting.pyplot().subplots(nrows, ncols, figsize=figsize, **kw)
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


@contextlib.contextmanager
def captured_figure(figsize: tuple[float, float] = (3.5, 2.5)):
    """Run a pyplot-drawing core helper (``show_trace_2d`` draws on the current figure,
    ``show_trace`` makes its own) on a fresh figure; yields a list that then holds the figure."""
    plt = plotting.pyplot()
    fresh = plt.figure(figsize=figsize)
    box = [fresh]
    yield box
    box[0] = plt.gcf()
    if box[0] is not fresh:
        plt.close(fresh)


def annotate(ax, text: str, xy: tuple[float, float], xytext: tuple[float, float]) -> None:
    """An arrow from ``xytext`` to ``xy`` with a label, as the book's figures have."""
    ax.annotate(text, xy=xy, xytext=xytext, arrowprops=dict(arrowstyle='->'))


def printed(fn: Callable, *args, **kwargs) -> tuple[Any, str]:
    """Call a core helper that prints the book's last line; return its value and that line."""
    buf = io.StringIO()
    with redirect_stdout(buf):
        out = fn(*args, **kwargs)
    text = buf.getvalue().strip().splitlines()
    return out, (text[-1] if text else '')


def figure_experiment(section: str, name: str, title: str, make: Callable, fmt: Callable[[dict], str]):
    """Register a figure of 11.1/11.2: ``make() -> (fig, values)``, ``fmt(values)`` the report's line."""
    def fn(d2l: Any, ctx: Context) -> Result:
        fig, values = make()
        return Result({k: v for k, v in values.items() if isinstance(v, (int, float))},
                      fmt(values), {name: fig})
    experiment(section, name, title, per_backend=False)(fn)


def sort_experiments() -> None:
    """Put the registry in chapter order (each section's experiments in registration order)."""
    order = {s: i for i, s in enumerate(SECTIONS)}
    items = sorted(EXPERIMENTS.items(), key=lambda kv: order.get(kv[1].section, len(order)))
    EXPERIMENTS.clear()
    EXPERIMENTS.update(items)


def check_book(exp: Experiment, result: Result) -> tuple[str, bool | None]:
    """The book's values for ``exp`` as text, and whether ours agrees: the printed trace digit
    for digit, or the final loss (to the book's 3 decimals) inside the book's range."""
    if exp.book is None:
        return '', None
    data = book_results()
    if exp.book in data['traces']:
        expected = data['traces'][exp.book]['printed']
        return expected, expected in result.text
    values = data['losses'][exp.book]
    low, high = data['loss_range']['low'], data['loss_range']['high']
    text = ', '.join(f'{k} {v:.3f}' for k, v in values.items())
    loss = result.values.get('loss', math.nan)
    return text, bool(low <= round(loss, 3) <= high)
