"""The benchmark's tables: terminal text, docs/benchmarks.md and the README's block.

Pure formatting of a :func:`d2l_optim.bench.run_bench` report (a JSON-ready dict),
so a saved ``--json`` report can be rendered again without measuring.
"""
from __future__ import annotations

import math
from typing import Sequence

from .bench import Measurement, measurements_from_json


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


def _ok(cell: dict, variant: str) -> bool:
    return variant in cell and cell[variant].ok


def _cells(measurements: Sequence[Measurement]) -> dict:
    cells: dict[tuple, dict[str, Measurement]] = {}
    for m in measurements:
        cells.setdefault((m.backend, m.optimizer, m.batch_size), {})[m.variant] = m
    return cells


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
    cells = _cells(measurements)
    parts = []
    for title, (floor, ours, cfloor, cours), name in (
            ('train_ch11 (the book\'s optimizers, scratch)',
             ('floor', 'scratch', 'floor_compiled', 'scratch_compiled'), 'train_ch11'),
            ("train_concise_ch11 (the framework's optimizer)",
             ('floor_builtin', 'concise', 'floor_builtin_compiled', 'concise_compiled'),
             'train_concise_ch11')):
        rows = []
        for (b, opt, bs), cell in cells.items():
            if not any(_ok(cell, v) for v in (ours, cours)):
                continue
            g = cell.get
            base = g(floor) if _ok(cell, floor) else g('floor') if floor == 'floor_builtin' else None
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


def loss_agreement(measurements: Sequence[Measurement]) -> dict[str, float]:
    """Largest |final loss - its baseline's| per variant: the floors compute what we compute."""
    out: dict[str, float] = {}
    for cell in _cells(measurements).values():
        for v, m in cell.items():
            if m.ok and m.baseline and _ok(cell, m.baseline):
                d = abs(m.final_loss - cell[m.baseline].final_loss)
                out[v] = max(out.get(v, 0.0), d)
    return out


#: shown under the goals table for each goal that is missed (keyed by the goal's first words)
EXPLANATIONS: dict[str, str] = {
    'train_ch11 vs hand-written loop':
        "the price of writing each rule once: a rule returns new arrays and the book's optimizer "
        'writes them back into the learner\'s parameters and states (`p[:] = ...`, `copy_`, '
        '`assign`), where a hand-written loop updates in place. On a 5x1 model every op is pure '
        'dispatch cost, so those writes are 5-20% of a step (profiled: an MXNet Adam step makes 41 '
        'engine calls against the floor\'s 35, the six extra ones are the write-backs). Cells under '
        '0.001 s/epoch are also within timer noise.',
    "train_concise_ch11 vs hand-written loop":
        'our concise step is the hand-written step (same framework calls); what remains is the '
        'harness loop around it and machine noise, which on this shared machine moves single cells '
        'by 20-30% between runs.',
    'tensorflow scratch compile=True vs eager, batch 10, whole':
        'a 2-epoch call at batch 10 is 300 steps of about 0.15 ms plus a one-off trace of 40-90 ms, '
        'so the trace is a third to a half of the compiled call; every epoch after it is more '
        'than 5x faster (row above), and longer calls approach that.',
    'tensorflow concise compile=True vs eager, batch 10, whole':
        'as for train_ch11: the one-off trace (Keras adds its optimizer update to it) is paid inside '
        'the first epoch of a 2-epoch call.',
    'jax scratch compile=True vs eager, batch 10, whole':
        "the first run of a program traces and compiles its jitted step (0.3-1 s on this shared "
        "machine, most of a 2-epoch call); a later run of the library's optimizer with the same "
        'hyperparameters and shapes reuses that program, as a module-level jax.jit does in a '
        "script, so the timed calls after the warm-up pay no trace (a learner's own optimizer is "
        'traced every run).',
    'jax concise compile=True vs eager, batch 10, whole':
        "as for train_ch11: the optax step's program is keyed by the optimizer, its "
        'hyperparameters and the shapes, and reused by later runs.',
    'mxnet concise compile=True':
        "hybridizing fuses only the 5x1 Dense layer and the loss; gluon.Trainer's update stays "
        'imperative, so there is little to win and noise can show a small loss.',
    'import d2l_optim':
        'the package itself imports only NumPy and the standard library; see the import table.',
}


def _count_range(ms: Sequence[Measurement]) -> str:
    counts = sorted({len(m.samples) for m in ms if m.ok})
    return '—' if not counts else str(counts[0]) if len(counts) == 1 else f'{counts[0]}-{counts[-1]}'


def render_markdown(report: dict) -> str:
    """docs/benchmarks.md: the machine, the method, every table, the goals and what misses them."""
    ms = measurements_from_json(report['measurements'])
    cfg = report['config']
    agree = loss_agreement(ms)
    epochs = ', '.join(f'batch {bs}: {e}' for bs, e in cfg['epochs'].items())
    out = [
        '# Benchmarks', '',
        '<!-- generated by d2l-optim bench; edit d2l_optim/bench_report.py, not this file -->', '',
        f"Regenerate with `d2l-optim bench --markdown docs/benchmarks.md` (this run took "
        f"{report.get('seconds', math.nan) / 60:.1f} min; add `--json PATH` to keep every sample, "
        '`--from-json PATH` renders a saved run again; JAX needs NumPy 2 and MXNet NumPy 1, so '
        'this page merges two runs: `bench --json a.json` in each environment, then '
        '`bench --from-json a.json b.json --markdown docs/benchmarks.md`).', '',
        f"**Machine:** {machine_line(report['machine'])}.", '',
        '## Method', '',
        'For each backend, rule and batch size, on the 1500 airfoil rows, in one process, '
        'interleaved round-robin so that changes in machine load hit every variant alike:', '',
        '* **hand-written**: a minimal training loop written directly in the framework, the update '
        'rule inline (`d2l_optim/bench.py`, the floor);',
        "* **train_ch11**: our `fit_ch11`, the code `train_ch11` runs, with the book's optimizer "
        'generated from `rules.py`;',
        "* **hand-written** (concise table): a minimal loop with the framework's own optimizer "
        '(`torch.optim`, Keras, `gluon.Trainer`); NumPy has none, so its concise path is compared '
        'with the plain floor;',
        "* **train_concise_ch11**: our `fit_concise_ch11` with that optimizer;",
        '* **compile=True** and **hand-written, compiled**: the same with the step compiled '
        '(TensorFlow `tf.function`, MXNet `hybridize`).', '',
        f"Seconds per epoch as `train_ch11` prints them: training time only, the clock stopped for "
        f"the full-data loss every 200 examples, divided by the epochs ({epochs}). The floors keep the "
        'same clock, the same seed, hence the same initial weights and minibatch order, so every '
        'variant computes the same thing: the largest difference of final losses from the baseline '
        'was ' + (', '.join(f'{v} {d:.1e}' for v, d in agree.items()) or 'not measured') + '. '
        'In parentheses for compiled steps: seconds per epoch after the first evaluation point, i.e. '
        'without the one-off trace. **ratio**: our median over the hand-written median; **vs eager**: '
        'how many times faster than the same call without compiling (in parentheses: after the '
        'trace). The hand-written compiled TensorFlow loop calls its `tf.function` as users do; '
        '`compile=True` calls the traced concrete function directly, which halves the per-step '
        'dispatch cost, so its ratio can be below 1. **wall/call**: the whole call, '
        'evaluations and drawing the figure once to PNG included. Medians of '
        f"{_count_range(ms)} timed calls per variant after one warm-up call on 200 rows: at least "
        f"{cfg['repeats']} ({cfg['slow_repeats']} for TensorFlow and MXNet at batch size 1), more "
        f"for cheap cells until a cell has run {cfg.get('min_seconds', 0):g} s.", '',
        'On a shared machine single cells move by 20-30% between runs; the concise rows, whose '
        'step is the hand-written step, show that noise. The goals therefore take the geometric mean '
        'of a backend\'s cells and also name its worst cell.', '',
        '## Goals (issues 8, 11 and 15)', '', goals_table(report.get('goals', [])), '',
    ]
    missed: dict[str, list[str]] = {}
    for g in report.get('goals', []):
        key = next((k for k in EXPLANATIONS if g['goal'].startswith(k)), None)
        if g['met'] is False and key:
            missed.setdefault(key, []).append(g['goal'])
    for key, which in missed.items():
        out.append(f"* **{'; '.join(which)}**: {EXPLANATIONS[key]}")
    if missed:
        out.append('')
    out += ['## Training', '', training_tables(ms), '']
    if report.get('imports'):
        out += ['## Import time', '',
                'Median over fresh interpreters of the `import` statement alone; a backend\'s row '
                'includes its framework, whose own row is above it.', '',
                imports_table(report['imports']), '']
    if report.get('sweep'):
        out += ['## `d2l-optim sweep`', '',
                'K runs of one rule as one batched computation (10 learning rates x K/10 seeds, '
                'batch 10, 2 epochs) against one `train_ch11` run of the same rule, medians in one '
                'process; and the 1,050-run sensitivity study of `reproduce` section 11.10+.', '',
                sweep_table(report['sweep']), '']
    if report.get('reproduce'):
        out += ['## `d2l-optim reproduce`', '', 'Wall time of one fresh process per backend; `all four` runs them in one process (default: compiled where equal to eager).', '',
                reproduce_table(report['reproduce']), '']
    out += [TORCH_COMPILE, '']
    return '\n'.join(out)


TORCH_COMPILE = """## Why PyTorch has no compile=True

`torch.compile` (inductor, `dynamic=True`) was measured on this machine (torch 2.13.0+cpu,
2 cores) on the steps `compile=True` would compile, Adam at batch size 10, 150 steps per epoch:

| step | eager, per epoch | compiled: first epoch | compiled: then, per epoch |
|---|---|---|---|
| `train_ch11` (scratch) | 0.019-0.022 s | 26.4 s with a cold compile cache, 0.03 s with a warm one | 0.026 s, up to 0.12-0.14 s under load |
| `train_concise_ch11` (`torch.optim.Adam`) | 0.022-0.09 s | 14.5 s cold, 0.5 s warm | 0.031 s, up to 0.11-0.14 s under load |

It never pays off here: the first call compiles for seconds (the on-disk cache helps only
after that), and the compiled step is still slower than eager (0.7-0.85x its speed), because
Dynamo breaks the graph at `loss.backward()` (one graph before, one after, guard checks on every
call) and a 5x1 linear model leaves no kernel time to win. So `compile=True` on PyTorch raises
a ValueError naming the backends that offer it. `d2l-optim bench --torch-compile --backends torch
--batch-sizes 10` measures it again and fills the PyTorch compile=True columns.
"""
