"""``d2l-optim reproduce``: every experiment of 11.1-11.10 on the chosen backends, and a
report against the book's printed numbers (``DIR/report.md``, ``DIR/report.html``, PNGs)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

from .. import files
from ..backend import BACKENDS, BackendUnavailable, installed_backends, not_installed
from ..workers import default_jobs, run_units
from .common import atomic_write_text, check_out_dir, check_out_file, names_list, positive_int, seed_int

#: the sections whose experiments train on the airfoil data (looked up once, before any runs)
AIRFOIL_SECTIONS = ('11.5', '11.6', '11.7', '11.8', '11.9', '11.10')
#: what a previous run left in --out, removed before this run writes its first figure
REPORT_FILES = ('report.md', 'report.html')
#: the section beyond the book (learning-rate sensitivity, d2l_optim/sections/sensitivity.py)
SENSITIVITY = ('11.10+', 'sensitivity')
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


def _execute(exp: Any, d2l: Any, ctx: Any, label: str, out: Path) -> tuple:
    """One experiment on one backend as ``(row, its first run or None)``; an error becomes
    the row's ``error`` (the report names it, the other experiments go on)."""
    from .. import sections as ex
    from ..plotting import pyplot
    from ..report import Row
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
    from .. import sections as ex
    from ..backend import load_backend
    start, label, out = time.perf_counter(), unit['label'], Path(unit['out'])
    if unit['kind'] == 'sensitivity':
        from ..sections import sensitivity
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
            row, run = _execute(ex.EXPERIMENTS[key], d2l, ctx, label, out)
            emit(('row', label, (row, key, run)))
    emit(('wall', label, time.perf_counter() - start))


def _split(values: Sequence[str] | None) -> list[str] | None:
    """``--backends numpy,torch`` and ``--backends numpy torch`` alike."""
    return names_list(values)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('--backends', nargs='+', default=None, metavar='NAME',
                   help=f"comma- or space-separated, from: {', '.join(BACKENDS)} (default: all installed)")
    p.add_argument('--sections', nargs='+', default=None, metavar='SECTION',
                   help='e.g. 11.3,11.5, 11.10+ (or sensitivity) or 11.11 (default: 11.1 to 11.10 '
                        'and 11.10+, the learning-rate sensitivity beyond the book; 11.11 trains '
                        'LeNet, so it runs only when named)')
    p.add_argument('--epochs', type=int, default=None,
                   help="11.11 only: epochs per run (default: the book's 30; fewer stretch the schedules)")
    p.add_argument('--out', default='out/reproduce', help='folder for report.md, report.html and the PNGs')
    p.add_argument('--json', default=None, help='also write every row as JSON to this path')
    p.add_argument('--seed', type=seed_int, default=0, help='one seed for weights, minibatches and noise')
    p.add_argument('--jobs', type=positive_int, default=None,
                   help='processes running backends side by side (default: one per core, here '
                        f'{os.cpu_count()}); 1 runs everything in one process, for timings '
                        'taken on an otherwise idle machine')
    p.add_argument('--eager', action='store_true',
                   help="run every step eagerly, as the book times it (default: TensorFlow's "
                        'steps traced by tf.function (and JAX jitted), which give the same losses '
                        'to 1e-5)')


class Progress:
    """A progress bar on stderr without dependencies: redrawn in place on a terminal,
    a line every tenth of the way otherwise (logs)."""

    def __init__(self, total: int, stream: Any = None, width: int = 28) -> None:
        self.total, self.done, self.width = max(total, 1), 0, width
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, 'isatty') and self.stream.isatty()
        self.start = time.perf_counter()

    def step(self, label: str) -> None:
        self.done += 1
        filled = int(self.width * self.done / self.total)
        bar = '#' * filled + '-' * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        line = f'[{bar}] {self.done}/{self.total} {elapsed:5.1f}s {label}'
        if self.tty:
            self.stream.write('\r\033[K' + line[:160])
            if self.done == self.total:
                self.stream.write('\n')
        elif 10 * self.done // self.total > 10 * (self.done - 1) // self.total:
            self.stream.write(line + '\n')        # a log: every tenth of the way
        self.stream.flush()


def _versions(backends: Sequence[str]) -> str:
    from importlib import metadata
    pkg = {'numpy': 'numpy', 'torch': 'torch', 'tensorflow': 'tensorflow', 'mxnet': 'mxnet',
           'jax': 'jax'}
    parts = []
    for b in backends:
        try:
            parts.append(f'{b} {metadata.version(pkg[b])}')
        except metadata.PackageNotFoundError:
            name = {'tensorflow': 'tensorflow-cpu'}.get(b)
            try:
                parts.append(f'{b} {metadata.version(name)}' if name else b)
            except metadata.PackageNotFoundError:
                parts.append(b)
    return ', '.join(parts)


def _figure_name(exp: Any, backend: str, fig_name: str, several: bool) -> str:
    base = f'{exp.section}-{exp.name}-{backend}'
    return f'{base}-{fig_name}.png' if several else f'{base}.png'


def _save_figures(result: Any, exp: Any, backend: str, out: Path) -> list[str]:
    from ..plotting import pyplot, save_figure
    names = []
    for fig_name, fig in result.figures.items():
        if fig is None:
            continue
        name = _figure_name(exp, backend, fig_name, len(result.figures) > 1)
        save_figure(fig, out / name)
        pyplot().close(fig)
        names.append(name)
    return names


def _clear_previous_run(out: Path) -> list[Path]:
    """Remove an earlier run's report, then its figures, so that the folder never holds a
    report beside figures of another run (an interrupted rerun leaves figures, no report)."""
    import re
    old = []        # report.md names every figure (report.html embeds them: slow to search)
    if (out / 'report.md').is_file():
        old = re.findall(r'[\w.+-]+\.png', (out / 'report.md').read_text(errors='replace'))
    removed = []
    for path in [out / n for n in REPORT_FILES] + [out / n for n in dict.fromkeys(old)] \
            + sorted(out.glob('11.*.png')):
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def reproduce(backends: Sequence[str] | None, sections: Sequence[str] | None, out: str | os.PathLike,
              seed: int = 0, json_path: str | None = None, progress_stream: Any = None,
              epochs: int | None = None, eager: bool = False, jobs: int | None = None) -> dict:
    """Run the experiments, write the report; returns ``{'rows', 'paths', 'meta', ...}``.

    ``eager=False`` compiles the training steps where :data:`COMPILED` says so; each
    row's note says which mode it ran in. ``jobs`` processes run the units (the core's
    experiments, each backend's, the sensitivity section) side by side, one per core by
    default (:func:`d2l_optim.workers.default_jobs`); ``jobs=1`` runs all in this process.
    Rows and figures are the same either way; timings are each process's own, taken
    while the other cores are busy too.
    """
    import matplotlib
    matplotlib.use('Agg')           # a batch job: never open windows
    from .. import sections as ex
    from ..report import Row, summary, write_report

    total_start, wall_clock_start = time.perf_counter(), time.time()
    with_11_11 = sections is not None and '11.11' in sections
    with_sensitivity = sections is None or any(x in SENSITIVITY for x in sections)
    named_only = with_11_11 or (sections is not None and with_sensitivity)
    if sections is not None:
        bad = [x for x in sections if x not in (*ex.SECTIONS, '11.11', *SENSITIVITY)]
        if bad:
            raise ValueError(f"unknown section(s) {', '.join(bad)}; choose from: "
                             f"{', '.join((*ex.SECTIONS, SENSITIVITY[0], '11.11'))}")
        sections = [x for x in sections if x != '11.11' and x not in SENSITIVITY]
    exps = ex.select(sections) if sections or not named_only else []
    if epochs is not None and epochs < 1:
        raise ValueError(f'--epochs must be >= 1, got {epochs}')
    check_out_dir(out)
    check_out_file(json_path)
    if with_sensitivity or any(e.section in AIRFOIL_SECTIONS for e in exps):
        from ..data import require
        require('airfoil')          # once: missing or corrupt data stops here, before any backend loads
    n_units = bool(exps) * (1 + len(installed_backends() if backends is None else backends)) \
        + with_sensitivity
    jobs = default_jobs(n_units) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f'--jobs must be >= 1, got {jobs}')
    # one process: import each backend here first, skipping (or, if named, refusing) those
    # that fail. Workers: each imports its own, so here only what is not installed is
    # refused; one that fails to import in its worker is skipped, or if named, its rows
    # carry the error.
    if backends is None and jobs > 1:
        names, skipped = installed_backends(), {}
    elif backends is None:
        names, skipped = ex.available_backends()
    else:
        unknown = [b for b in backends if b not in BACKENDS]
        if unknown:
            raise ValueError(f"unknown backend(s) {', '.join(unknown)}; choose from: {', '.join(BACKENDS)}")
        if jobs > 1:
            names = list(dict.fromkeys(backends))
            missing = {b: why for b in names if (why := not_installed(b))}
        else:
            names, missing = ex.available_backends(dict.fromkeys(backends))
        if missing:          # asked for by name: say why it cannot run, before any work
            raise BackendUnavailable('; '.join(f'{k}: {v}' for k, v in missing.items()))
        skipped = {}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous_run(out)

    core = [e for e in exps if not e.per_backend]
    per_backend = [e for e in exps if e.per_backend]
    units = ([{'kind': 'core', 'label': ex.CORE, 'keys': [e.key for e in core]}] if core else []) \
        + [{'kind': 'backend', 'label': name, 'keys': [e.key for e in per_backend]}
           for name in (names if per_backend else [])]
    if with_sensitivity:
        from ..sections import sensitivity
        units.append({'kind': 'sensitivity', 'label': sensitivity.SECTION, 'names': list(names)})
    for unit in units:
        unit.update(seed=seed, eager=eager, out=str(out))
    units.sort(key=lambda u: -UNIT_COST.get(u['label'], 1))      # the longest first, on any free worker
    progress = Progress(len(core) + len(per_backend) * len(names) + bool(with_sensitivity),
                        progress_stream)
    rows: list[Row] = []
    runs_by_exp: dict[str, dict[str, Any]] = {}
    overlays: dict[str, tuple[str, tuple[str, str]]] = {}
    backend_wall: dict[str, float] = {}

    def on_message(message: tuple) -> None:
        kind, label, payload = message
        if kind == 'row':
            row, key, run = payload
            files.record_finished(out / name for name in row.figures)
            if run is not None:
                runs_by_exp.setdefault(key, {})[label] = run
                if len(names) >= 2 and len(runs_by_exp[key]) == len(names):
                    overlays[key] = _overlay(key, runs_by_exp[key], ex, out)    # while workers run
            rows.append(row)
            progress.step(f'{row.section} {row.title[:50]} [{label}]')
        elif kind == 'rows':            # a section computed as a whole (11.10+)
            for row in payload:
                files.record_finished(out / name for name in row.figures)
            rows.extend(payload)
            progress.step(f'{label} [{len(payload)} rows]')
        elif kind == 'unavailable' and backends is None:    # a worker could not import it
            skipped[label] = payload
            names.remove(label)
            for _ in per_backend:
                progress.step(f'[{label}: unavailable]')
        elif kind == 'unavailable':     # named: every row says why
            for exp in per_backend:
                rows.append(Row(exp.section, exp.name, exp.title, label, '',
                                ex.check_book(exp, ex.Result())[0], error=f'BackendUnavailable: {payload}'))
                progress.step(f'{exp.section} {exp.title[:50]} [{label}: unavailable]')
        else:
            backend_wall[label] = payload

    try:
        run_units(run_unit, units, on_message, jobs)
    except KeyboardInterrupt:
        # a worker may have finished a figure and been stopped before it said so
        files.record_finished(p for p in out.glob('*.png') if p.stat().st_mtime >= wall_clock_start)
        raise
    backend_wall = {u['label']: backend_wall[u['label']]
                    for u in sorted(units, key=lambda u: unit_order(u['label'])) if u['label'] in backend_wall}

    for key, runs in runs_by_exp.items():      # those a backend's absence left unfinished
        if key not in overlays and len(runs) >= 2:
            overlays[key] = _overlay(key, runs, ex, out)
    extra: dict[str, list[tuple[str, str]]] = {}
    for key in sorted(overlays, key=list(ex.EXPERIMENTS).index):
        section, entry = overlays[key]
        extra.setdefault(section, []).append(entry)
    titles = {s: ex.SECTION_TITLES[s] for s in ex.SECTIONS}
    if with_11_11:
        start = time.perf_counter()
        rows += _section_11_11(names, epochs, out, seed, extra)
        backend_wall['11.11'] = time.perf_counter() - start
        titles['11.11'] = 'Learning Rate Scheduling'
    if with_sensitivity:
        titles[sensitivity.SECTION] = sensitivity.TITLE
        titles = {k: titles[k] for k in sorted(titles, key=[*ex.SECTIONS, SENSITIVITY[0], '11.11'].index)}
    order = {s: i for i, s in enumerate([*ex.SECTIONS, SENSITIVITY[0], '11.11'])}
    exp_order = {k: i for i, k in enumerate(ex.EXPERIMENTS)}
    rows.sort(key=lambda r: (order[r.section], exp_order.get(f'{r.section}/{r.experiment}', 0)))
    total = time.perf_counter() - total_start
    meta = {
        'command': 'd2l-optim reproduce ' + ' '.join(sys.argv[2:]) if sys.argv[1:2] == ['reproduce']
        else 'reproduce()',
        'date': time.strftime('%Y-%m-%d %H:%M:%S'),
        'machine': f'{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}',
        'backends': _versions(names) + (f" (skipped: {', '.join(f'{k}: {v}' for k, v in skipped.items())})"
                                        if skipped else ''),
        'seed': seed,
        'processes': (f'{jobs}, side by side, each framework on one thread (--jobs 1: one process, '
                      "the frameworks' own threads)" if jobs > 1 and len(units) > 1 else '1'),
        'wall time': f'{total:.1f} s total; ' + ', '.join(f'{k} {v:.1f} s' for k, v in backend_wall.items()),
    }
    md, page = write_report(out, rows, meta, titles, extra)
    if json_path:
        atomic_write_text(json_path, json.dumps({'meta': meta, 'summary': summary(rows),
                                                 'rows': [r.to_json() for r in rows]}, indent=2) + '\n')
    return {'rows': rows, 'paths': (md, page), 'meta': meta, 'backend_wall': backend_wall,
            'total_wall': total, 'skipped': skipped}


def _section_11_11(backends: Sequence[str], epochs: int | None, out: Path, seed: int,
                   extra: dict) -> list:
    """The five scheduling runs per backend as report rows. The book's numbers are compared
    only on the real Fashion-MNIST at 30 epochs; the offline stand-in is labelled, unchecked."""
    from ..report import Row
    from ..sections.lr_scheduling import BOOK_RESULTS, run_section_11_11
    rows = []
    for r in run_section_11_11(list(backends), epochs, out, seed=seed, log=lambda s: None):
        real = r['data'] == 'Fashion-MNIST' and r['epochs'] == 30
        ours = f"{r['train_loss']:.3f} / {r['train_acc']:.3f} / {r['test_acc']:.3f}"
        book_values = BOOK_RESULTS[r['experiment']]
        book = ' / '.join(f'{v:.3f}' for v in book_values)
        close = abs(r['test_acc'] - book_values[2]) <= 0.03 if real else None
        rows.append(Row('11.11', r['experiment'], f"{r['experiment']}: {r['schedule']}", r['backend'],
                        ours, book if real else f'{book} (PyTorch 1.0.3, real data)', close,
                        wall_s=r['wall'], values={k: r[k] for k in ('train_loss', 'train_acc', 'test_acc')},
                        figures=[f"11.11-{r['backend']}.png"],
                        note=f"{r['model']} on {r['data']}, {r['epochs']} epochs; "
                             f"{r['examples_per_sec']:.0f} examples/sec; train loss / train acc / test acc"))
    extra.setdefault('11.11', []).append(("the book's schedules", '11.11-schedules.png'))
    return rows


def _overlay(key: str, runs: dict[str, Any], ex: Any, out: Path) -> tuple[str, tuple[str, str]]:
    """One airfoil experiment's loss curves on every backend that ran it, in one figure (the
    backends in their usual order, whichever finished first); ``(section, (caption, file))``."""
    from ..plotting import pyplot, save_figure
    from ..sections.cross_backend import overlay_figure
    exp = ex.EXPERIMENTS[key]
    fig = overlay_figure({b: runs[b] for b in BACKENDS if b in runs}, title=exp.title)
    name = f'{exp.section}-{exp.name}-backends.png'
    save_figure(fig, out / name)
    pyplot().close(fig)
    return exp.section, (f'{exp.title}: all backends, one seed', name)


def main(args: argparse.Namespace) -> int:
    result = reproduce(_split(args.backends), _split(args.sections), args.out, args.seed, args.json,
                       epochs=args.epochs, eager=args.eager, jobs=args.jobs)
    from ..report import summary
    s = summary(result['rows'])
    walls = ', '.join(f'{k} {v:.1f} s' for k, v in result['backend_wall'].items())
    for name, why in result['skipped'].items():
        print(f'skipped {name}: {why}', file=sys.stderr)
    print(f"{s['rows']} rows: {s['agree']} of {s['checked']} checked agree with the book, "
          f"{s['disagree']} outside, {s['errors']} errors")
    print(f"wall time {result['total_wall']:.1f} s ({walls})")
    md, page = result['paths']
    print(f'report: {md} and {page}')
    return 1 if s['errors'] else 0
