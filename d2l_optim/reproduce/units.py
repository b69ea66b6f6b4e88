"""The units ``reproduce`` runs, in this process or a worker's: the core's experiments, one
backend's, or the sensitivity section; each experiment's row, figures and first run.

:func:`run_unit` is what :func:`d2l_optim.workers.run_units` calls (a module-level function,
imported by name in a fresh process). A backend's harnesses run compiled where
:data:`COMPILED` says the losses equal eager ones (:class:`CompiledHarnesses`).
"""
from __future__ import annotations

import dataclasses
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .. import files
from .. import sections as ex
from ..backend import BACKENDS, BackendUnavailable, load_backend
from ..plotting import pyplot, save_figure
from ..report import Row
from ..sections import sensitivity

#: backend -> (harnesses run with compile=True unless --eager, how they compile). Only where
#: the compiled losses equal eager ones to 1e-5 (tests/test_reproduce_compiled.py) and the
#: rows get faster: TensorFlow's 2-epoch rows took 60.6 s compiled vs 407.1 s eager (one
#: paired run, load 7-9). MXNet's hybridized concise rows also equal eager (the same test,
#: MXNET_HYBRID) but were 1.2-1.6x slower each, the trace costing more than 2 epochs save,
#: so MXNet runs eager. PyTorch has no compiled step (backend.COMPILERS says why).
MXNET_HYBRID = ('mxnet', (('fit_concise_ch11',), 'Gluon hybridize'))
COMPILED = {
    'tensorflow': (('fit_ch11', 'fit_concise_ch11'), 'tf.function'),
    'jax': (('fit_ch11', 'fit_concise_ch11'), 'jax.jit'),
}


class CompiledHarnesses:
    """A backend module whose ``fit_ch11``/``fit_concise_ch11`` default to ``compile=True``
    where :data:`COMPILED` lists them; it records the mode of every training run."""

    def __init__(self, d2l: Any, eager: bool = False) -> None:
        self._d2l = d2l
        harnesses, self._how = COMPILED.get(d2l.BACKEND.name, ((), ''))
        self._harnesses = () if eager else harnesses
        self.modes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._d2l, name)
        if name not in ('fit_ch11', 'fit_concise_ch11'):
            return attr

        def fit(*args: Any, **kwargs: Any) -> Any:
            if name in self._harnesses:
                kwargs.setdefault('compile', True)
            self.modes.append(f'compiled ({self._how})' if kwargs.get('compile') else 'eager')
            return attr(*args, **kwargs)
        return fit

    def mode(self) -> str:
        """The modes of the training runs since the last call, e.g. ``'eager'``, or ``''``."""
        modes, self.modes = list(dict.fromkeys(self.modes)), []
        return ' + '.join(modes)


#: rough seconds per unit on this machine (longest first keeps two workers evenly busy)
UNIT_COST = {'mxnet': 21, 'tensorflow': 14, 'jax': 14, 'torch': 9, 'core': 5, 'numpy': 4, '11.10+': 2}


def unit_order(label: str) -> int:
    """Where a unit's wall time goes in the report's list: core, the backends, then 11.10+."""
    order = ['core', *BACKENDS, '11.10+']
    return order.index(label) if label in order else len(order)


def execute(exp: Any, d2l: Any, ctx: Any, label: str, out: Path) -> tuple:
    """One experiment on one backend as ``(row, its first run or None)``; an error becomes
    the row's ``error`` (the report names it, the other experiments go on)."""
    book_text, run = '', None
    try:
        result = ex.run(exp, d2l, ctx)
        book_text, verdict = ex.check_book(exp, result)
        mode = d2l.mode() if isinstance(d2l, CompiledHarnesses) else ''
        note = '; '.join(x for x in (result.note, mode and f'mode: {mode}') if x)
        row = Row(exp.section, exp.name, exp.title, label, result.text, book_text, verdict,
                  result.sec_per_epoch, result.wall_s, dict(result.values),
                  _save_figures(result, exp, label, out), note)
        if result.runs:     # for the all-backends overlay: the curve, not its live figure
            run = dataclasses.replace(result.runs[0], animator=None)
    except Exception as e:
        book_text = book_text or ex.check_book(exp, ex.Result())[0]
        row = Row(exp.section, exp.name, exp.title, label, '', book_text,
                  error=f'{type(e).__name__}: {e}')
        if not isinstance(e, files.NotOursError):      # a user's file: the row says so, in one line
            traceback.print_exc(file=sys.stderr)
    finally:
        pyplot().close('all')
    return row, run


def run_unit(unit: dict, emit: Any) -> None:
    """One unit of ``reproduce`` (the core's experiments, one backend's, or 11.10+), in this
    process or a worker's: every row is sent as ``('row', label, (row, key, run))`` and the
    unit's wall time last, as ``('wall', label, seconds)``."""
    import matplotlib
    matplotlib.use('Agg')
    start, label, out = time.perf_counter(), unit['label'], Path(unit['out'])
    if unit['kind'] == 'sensitivity':
        emit(('rows', label, sensitivity.section_rows(unit['names'], out, unit['seed'])))
    else:
        try:
            d2l = load_backend('numpy' if unit['kind'] == 'core' else label)
        except (BackendUnavailable, ImportError) as e:
            emit(('unavailable', label, str(e)))
            return
        if unit['kind'] == 'backend':
            d2l = CompiledHarnesses(d2l, unit['eager'])
        ctx = ex.Context(unit['seed'])
        for key in unit['keys']:
            row, run = execute(ex.EXPERIMENTS[key], d2l, ctx, label, out)
            emit(('row', label, (row, key, run)))
    emit(('wall', label, time.perf_counter() - start))


def figure_name(exp: Any, backend: str, fig_name: str = '', several: bool = False) -> str:
    """The file of ``exp``'s figure on ``backend`` (``'core'``, a backend, or ``'backends'`` for
    the all-backends overlay); ``fig_name`` is added when the experiment draws several."""
    base = f'{exp.section}-{exp.name}-{backend}'
    return f'{base}-{fig_name}.png' if several else f'{base}.png'


def _save_figures(result: Any, exp: Any, backend: str, out: Path) -> list[str]:
    names = []
    for fig_name, fig in result.figures.items():
        if fig is None:
            continue
        name = figure_name(exp, backend, fig_name, len(result.figures) > 1)
        save_figure(fig, out / name)
        pyplot().close(fig)
        names.append(name)
    return names
