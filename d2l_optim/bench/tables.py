"""The bench's tables as Markdown text: what the command prints, and the README's block.

Pure formatting of a :func:`d2l_optim.bench.run_bench` report (a JSON-ready dict), so a
saved ``--json`` report can be rendered again without measuring.
"""
from __future__ import annotations

import math
from typing import Sequence

from .results import Measurement, by_cell, measurements_from_json, ran


_LABELS = {'numpy': 'NumPy', 'torch': 'PyTorch', 'tensorflow': 'TensorFlow', 'mxnet': 'MXNet',
           'jax': 'JAX'}
README_BEGIN, README_END = '<!-- bench:begin -->', '<!-- bench:end -->'


def _s(x: float | None) -> str:
    """Seconds to three significant digits, or a dash."""
    if x is None or not math.isfinite(x):
        return '—'
    return f'{x:.4f}' if x < 0.01 else f'{x:.3f}' if x < 1 else f'{x:.2f}'


def _x(r: float | None) -> str:
    return '—' if r is None else f'{r:.2f}x' if r < 10 else f'{r:.0f}x'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(lines)


def _speedup(m: Measurement | None) -> str:
    if m is None or m.speedup is None:
        return '—'
    return f'{_x(m.speedup)} ({_x(m.speedup_steady)})'


def _timed(m: Measurement | None, steady: bool = False) -> str:
    if m is None or not m.ok:
        return '—'
    return f'{_s(m.sec_per_epoch)} ({_s(m.steady)})' if steady else _s(m.sec_per_epoch)


def training_tables(measurements: Sequence[Measurement]) -> str:
    """The scratch and the concise table, sec/epoch with ratios and speedups."""
    cells = by_cell(measurements)
    parts = []
    for title, (floor, ours, cfloor, cours), name in (
            ('train_ch11 (the book\'s optimizers, scratch)',
             ('floor', 'scratch', 'floor_compiled', 'scratch_compiled'), 'train_ch11'),
            ("train_concise_ch11 (the framework's optimizer)",
             ('floor_builtin', 'concise', 'floor_builtin_compiled', 'concise_compiled'),
             'train_concise_ch11')):
        rows = []
        for (b, opt, bs), cell in cells.items():
            if not any(ran(cell, v) for v in (ours, cours)):
                continue
            g = cell.get
            base = g(floor) if ran(cell, floor) else g('floor') if floor == 'floor_builtin' else None
            rows.append([_LABELS.get(b, b), opt, str(bs), str(next(iter(cell.values())).epochs),
                         _timed(base), _timed(g(ours)), _x(g(ours) and g(ours).ratio),
                         _s(g(ours).wall_s if g(ours) else None),
                         _timed(g(cfloor), True), _timed(g(cours), True),
                         _x(g(cours) and g(cours).ratio), _speedup(g(cours)),
                         _s(g(cours).wall_s if g(cours) and g(cours).ok else None)])
        header = ['backend', 'rule', 'batch', 'epochs', 'hand-written', name, 'ratio', 'wall/call',
                  'hand-written, compiled', 'compile=True', 'ratio', 'vs eager', 'wall/call']
        parts.append(f'### {title}\n\n' + _table(header, rows))
    return '\n\n'.join(parts)


def imports_table(rows: Sequence[dict]) -> str:
    body = [[f'`import {r["module"]}`', _s(r['seconds']) if r['seconds'] is not None else
             f'failed: {r["error"]}', ', '.join(r['frameworks']) or 'none'] for r in rows]
    return _table(['module', 'seconds (median, fresh process)', 'frameworks loaded'], body)


def reproduce_table(rows: Sequence[dict]) -> str:
    body = [[_LABELS.get(r['backend'], r['backend']), _s(r['seconds']),
             'ok' if r['returncode'] == 0 else f'exit {r["returncode"]}: {r["error"]}'] for r in rows]
    return _table(['backend', 'wall seconds', 'result'], body)


def sweep_table(rows: Sequence[dict]) -> str:
    body = [[r['what'], r['backend'], str(r['runs']), _s(r['seconds']),
             '' if r.get('single_seconds') is None else _s(r['single_seconds']),
             '' if r.get('ratio') is None else f"{r['ratio']:.2f}x"] for r in rows]
    return _table(['sweep', 'backend', 'runs', 'seconds', 'one train_ch11 run (s)', 'ratio'], body)


def goals_table(rows: Sequence[dict]) -> str:
    return _table(['goal', 'target', 'measured', 'met'],
                  [[g['goal'], g['target'], g['measured'],
                    {True: 'yes', False: '**no**', None: 'n/a'}[g['met']]] for g in rows])


def machine_line(machine: dict) -> str:
    v = machine['versions']
    libs = ', '.join(f'{k} {val}' for k, val in v.items() if val and k != 'd2l-optim')
    load, end = machine.get('load_average'), machine.get('load_average_end')
    load_s = f'; load average (1 min) {load[0]:.2f} at start' if load else ''
    load_s += f', {end[0]:.2f} at end' if load and end else ''
    return (f"{machine['cores']} cores, {machine['cpu']}; {machine['os']}; Python {machine['python']}; "
            f"{libs}{load_s}; {machine['date']}")


def render_text(report: dict) -> str:
    """What the command prints: the tables, no prose."""
    ms = measurements_from_json(report['measurements'])
    parts = [f"Machine: {machine_line(report['machine'])}", training_tables(ms)]
    if report.get('imports'):
        parts.append('### Import time\n\n' + imports_table(report['imports']))
    if report.get('sweep'):
        parts.append('### d2l-optim sweep\n\n' + sweep_table(report['sweep']))
    if report.get('reproduce'):
        parts.append('### d2l-optim reproduce\n\n' + reproduce_table(report['reproduce']))
    if report.get('goals'):
        parts.append('### Goals (issues 8, 11, 15)\n\n' + goals_table(report['goals']))
    return '\n\n'.join(parts) + '\n'


def render_readme_block(report: dict) -> str:
    """The README's summary: batch 10 rows of both tables, the goals, a link to the rest."""
    ms = [m for m in measurements_from_json(report['measurements']) if m.batch_size == 10]
    return '\n'.join([
        README_BEGIN,
        f"Measured with `d2l-optim bench --readme` on {machine_line(report['machine'])}. "
        'Seconds per epoch at batch size 10; the full table, all batch sizes and the method '
        'are in [docs/benchmarks.md](docs/benchmarks.md).', '',
        training_tables(ms), '', goals_table(report.get('goals', [])), README_END])


def replace_readme_block(text: str, block: str) -> str:
    """``text`` with the part between the bench markers replaced by ``block``."""
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f'the README has no {README_BEGIN} ... {README_END} markers; '
                         'add them where the table should go')
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return head + block + tail
