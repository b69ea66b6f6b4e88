"""Reproduce chapter 11: every experiment of 11.1-11.10 (and 11.10+, 11.11) on the chosen
backends, and a report against the book's printed numbers (``report.md``, ``report.html``, PNGs).

:func:`reproduce` plans the run (:mod:`.plan`: every mistake in the request refused before
any work), runs its units side by side in worker processes (:mod:`.units`, through
:func:`d2l_optim.workers.run_units`), collects their rows as they arrive (:mod:`.collect`)
and writes the report (:mod:`d2l_optim.report`). ``d2l-optim reproduce`` is a thin command over it.
"""
from __future__ import annotations

import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Sequence

from .. import files
from ..report import Row, summary, write_report
from ..sections.lr_scheduling import BOOK_RESULTS, run_section_11_11
from ..workers import WorkerFailed, run_units
from .collect import Collector, progress_bar
from .plan import AIRFOIL_SECTIONS, REPORT_FILES, SENSITIVITY, Plan, make_plan, section_titles, sort_rows
from .plan import check_folder, clear_previous_run
from .units import COMPILED, MXNET_HYBRID, UNIT_COST, CompiledHarnesses, run_unit, unit_order

__all__ = ['AIRFOIL_SECTIONS', 'COMPILED', 'MXNET_HYBRID', 'REPORT_FILES', 'SENSITIVITY', 'UNIT_COST',
           'CompiledHarnesses', 'Plan', 'clear_previous_run', 'make_plan', 'reproduce', 'run_unit',
           'unit_order']


def reproduce(backends: Sequence[str] | None, sections: Sequence[str] | None, out: str | os.PathLike,
              seed: int = 0, json_path: str | None = None, progress_stream: IO[str] | None = None,
              epochs: int | None = None, eager: bool = False, jobs: int | None = None,
              command: str = 'reproduce()') -> dict:
    """Run the experiments, write the report; returns ``{'rows', 'paths', 'meta', ...}``.

    ``eager=False`` compiles the training steps where :data:`COMPILED` says so; each
    row's note says which mode it ran in. ``jobs`` processes run the units (the core's
    experiments, each backend's, the sensitivity section) side by side, one per core by
    default (:func:`d2l_optim.workers.default_jobs`); ``jobs=1`` runs all in this process.
    Rows and figures are the same either way; timings are each process's own, taken
    while the other cores are busy too. ``command`` is how the report names the run.
    """
    import matplotlib
    matplotlib.use('Agg')           # a batch job: never open windows
    total_start, wall_clock_start = time.perf_counter(), time.time()
    plan = make_plan(backends, sections, epochs, jobs)
    out = Path(out)
    with files.output_folder(out, 'reproduce'):     # one run at a time here; it removes only its own files
        check_folder(plan, out)             # a report or figure of the user's there: refused before any work
        out.mkdir(parents=True, exist_ok=True)
        clear_previous_run(out)
        return _run(plan, out, seed, json_path, progress_stream, epochs, eager, command,
                    total_start, wall_clock_start)


def _run(plan: Plan, out: Path, seed: int, json_path: str | None, progress_stream: IO[str] | None,
         epochs: int | None, eager: bool, command: str, total_start: float, wall_clock_start: float) -> dict:
    units = plan.units(seed, eager, out)
    unfinished: dict[str, str] = {}
    with progress_bar(plan.steps(), progress_stream) as bar:
        collect = Collector(plan, out, bar)
        try:
            run_units(run_unit, units, collect, plan.jobs)
        except WorkerFailed as e:       # a worker died (the OOM killer): keep every finished row
            unfinished = {task['label']: why for task, why in e.failed}
            collect.rows += unfinished_rows(e.failed, collect.rows)
        except KeyboardInterrupt:
            # a worker may have finished a figure and been stopped before it said so
            files.record_finished(out / name for name, e in files.manifest(out).items()
                                  if e.get('mtime_ns', 0) >= wall_clock_start * 1e9 and '/' not in name)
            raise
    rows, extra = collect.rows, collect.extra_figures()
    wall = {u['label']: collect.wall[u['label']]
            for u in sorted(units, key=lambda u: unit_order(u['label'])) if u['label'] in collect.wall}
    if plan.with_11_11:
        start = time.perf_counter()
        rows += section_11_11(plan.names, epochs, out, seed, extra)
        wall['11.11'] = time.perf_counter() - start
    sort_rows(rows)
    total = time.perf_counter() - total_start
    meta = run_meta(plan, command, seed, len(units), total, wall)
    md, page = write_report(out, rows, meta, section_titles(plan), extra)
    if json_path:
        with files.atomic_write(json_path, user_named=True) as f:
            f.write(json.dumps({'meta': meta, 'summary': summary(rows),
                                'rows': [r.to_json() for r in rows]}, indent=2) + '\n')
    return {'rows': rows, 'paths': (md, page), 'meta': meta, 'backend_wall': wall,
            'total_wall': total, 'skipped': plan.skipped, 'unfinished': unfinished}


def unfinished_rows(failed: Sequence[tuple[dict, str]], done: Sequence[Row]) -> list[Row]:
    """An error row for every experiment a unit whose worker died did not finish, saying why."""
    from .. import sections as ex
    have = {(r.section, r.experiment, r.backend) for r in done}
    rows = []
    for unit, why in failed:
        label = unit['label']
        for key in unit.get('keys', []):
            exp = ex.EXPERIMENTS[key]
            if (exp.section, exp.name, label) not in have:
                rows.append(Row(exp.section, exp.name, exp.title, label, '', ex.check_book(exp, ex.Result())[0],
                                error=f'did not finish: {why}'))
        if not unit.get('keys'):        # the sensitivity section, run as a whole
            rows.append(Row(SENSITIVITY[0], SENSITIVITY[1], 'learning-rate sensitivity', label, '',
                            error=f'did not finish: {why}'))
    return rows


def run_meta(plan: Plan, command: str, seed: int, n_units: int, total: float,
             wall: dict[str, float]) -> dict[str, Any]:
    """The report's header: the command, date, machine, backends and versions, processes, wall times."""
    skipped = plan.skipped
    return {
        'command': command,
        'date': time.strftime('%Y-%m-%d %H:%M:%S'),
        'machine': f'{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}',
        'backends': versions(plan.names) + (f" (skipped: {', '.join(f'{k}: {v}' for k, v in skipped.items())})"
                                            if skipped else ''),
        'seed': seed,
        'processes': (f'{plan.jobs}, side by side, each framework on one thread (--jobs 1: one process, '
                      "the frameworks' own threads)" if plan.jobs > 1 and n_units > 1 else '1'),
        'wall time': f'{total:.1f} s total; ' + ', '.join(f'{k} {v:.1f} s' for k, v in wall.items()),
    }


def versions(backends: Sequence[str]) -> str:
    """``numpy 1.26.4, torch 2.13.0`` for the backends' frameworks (a name alone if not found)."""
    dists = {'tensorflow': ('tensorflow', 'tensorflow-cpu')}
    parts = []
    for b in backends:
        for dist in dists.get(b, (b,)):
            try:
                parts.append(f'{b} {metadata.version(dist)}')
                break
            except metadata.PackageNotFoundError:
                continue
        else:
            parts.append(b)
    return ', '.join(parts)


def section_11_11(backends: Sequence[str], epochs: int | None, out: Path, seed: int,
                  extra: dict) -> list[Row]:
    """The five scheduling runs per backend as report rows. The book's numbers are compared
    only on the real Fashion-MNIST at 30 epochs; the offline stand-in is labelled, unchecked."""
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
