"""Timings beside the training cells: sweeps against one run, imports, and ``reproduce``.

Imports and ``reproduce`` are timed in fresh interpreters (``subprocess``), sweeps in this
process. Each row carries what its goal (:mod:`.goals`) judges.
"""
from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Sequence

import numpy as np

from ..backend import BACKENDS, FRAMEWORK, load_backend
from ..sections import sensitivity
from ..sections.airfoil_runs import train_scratch
from ..sweeps import SWEEP_BACKENDS, sweep
from .config import ALL_BACKENDS_ROW, ALL_FOUR, FRAMEWORKS
from .goals import SWEEP_TARGETS, STUDY_TARGET_S


def sweep_times(backends: Sequence[str], progress: Callable[[str], None] = lambda s: None,
                repeats: int = 5, optimizer: str = 'rmsprop') -> list[dict]:
    """K-run sweeps (10 learning rates x K/10 seeds, batch 10, 2 epochs) against one
    ``fit_ch11`` run of the same rule on the same backend, medians of ``repeats`` calls in
    this process; and the wall time of the 1,050-run sensitivity study on NumPy."""

    def median_time(fn: Callable[[], Any]) -> float:
        fn()                                            # warm-up
        samples = []
        for _ in range(repeats):
            tik = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - tik)
        return statistics.median(samples)

    rows = []
    for b in [b for b in backends if b in SWEEP_BACKENDS]:
        d2l = load_backend(b)
        single = median_time(lambda: train_scratch(d2l, optimizer, seed=0, verbose=False))
        for (backend, k), target in SWEEP_TARGETS.items():
            if backend != b:
                continue
            lrs = [float(v) for v in np.geomspace(1e-3, 0.1, 10)]
            secs = median_time(lambda: sweep(optimizer, {'lr': lrs}, seeds=range(k // 10), backend=b))
            rows.append({'what': f'sweep K={k}', 'backend': b, 'optimizer': optimizer, 'runs': k,
                         'seconds': secs, 'single_seconds': single, 'ratio': secs / single,
                         'target': target})
            progress(f'sweep {b} K={k}: {secs:.3f} s, {secs / single:.2f}x one run')
    if 'numpy' in backends:
        tik = time.perf_counter()
        runs, _ = sensitivity.study('numpy')
        secs = time.perf_counter() - tik
        rows.append({'what': 'sensitivity study', 'backend': 'numpy', 'optimizer': 'all 7',
                     'runs': len(runs), 'seconds': secs, 'single_seconds': None, 'ratio': None,
                     'target': STUDY_TARGET_S})
        progress(f'sensitivity study: {len(runs)} runs in {secs:.2f} s')
    return rows


_IMPORT_SNIPPET = """
import json, sys, time
t = time.perf_counter()
{prelude}import {module}
s = time.perf_counter() - t
print(json.dumps({{'seconds': s, 'frameworks': [m for m in {frameworks!r} if m in sys.modules]}}))
"""
#: timed with the import: mxnet 1.9.1 alone fails on NumPy >= 1.24 without the alias the adapter restores
_IMPORT_PRELUDE = {'mxnet': "import numpy\nif 'bool' not in vars(numpy): numpy.bool = numpy.bool_\n"}


def _child_env() -> dict:
    env = dict(os.environ)
    env.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    env.setdefault('MPLBACKEND', 'Agg')
    return env


def import_time(module: str, repeats: int = 3) -> dict:
    """Median seconds to import ``module`` in fresh interpreters, and the frameworks it pulled in."""
    secs, frameworks, error = [], [], ''
    code = _IMPORT_SNIPPET.format(module=module, frameworks=FRAMEWORKS,
                                  prelude=_IMPORT_PRELUDE.get(module, ''))
    for _ in range(repeats):
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                             env=_child_env(), timeout=300)
        if out.returncode != 0:
            error = (out.stderr.strip().splitlines() or ['failed'])[-1]
            break
        row = json.loads(out.stdout.strip().splitlines()[-1])
        secs.append(row['seconds'])
        frameworks = row['frameworks']
    label = module + (' (numpy.bool alias restored first)' if module in _IMPORT_PRELUDE else '')
    return {'module': label, 'seconds': statistics.median(secs) if secs else None,
            'samples': secs, 'frameworks': frameworks, 'error': error}


def import_times(backends: Sequence[str], repeats: int = 3,
                 progress: Callable[[str], None] = lambda s: None) -> list[dict]:
    """``import d2l_optim``, then each framework alone and each backend adapter (framework included)."""
    rows = [import_time('d2l_optim', repeats)]
    progress('import d2l_optim')
    for b in backends:
        if b != 'numpy':
            rows.append(import_time(FRAMEWORK[b], repeats))
        rows.append(import_time(BACKENDS[b][0], repeats))
        progress(f'import {b}')
    return rows


def reproduce_times(backends: Sequence[str], progress: Callable[[str], None] = lambda s: None,
                    timeout: float = 1800) -> list[dict]:
    """Wall time of ``d2l-optim reproduce --backends B`` per backend, in fresh processes;
    empty when this version has no ``reproduce`` command."""
    if importlib.util.find_spec('d2l_optim.commands.reproduce') is None:
        return []
    rows = []
    together = [','.join(backends)] if len(backends) > 1 else []   # issue 11: all in one process
    for b in [*backends, *together]:
        with tempfile.TemporaryDirectory() as out:
            tik = time.perf_counter()
            done = subprocess.run([sys.executable, '-m', 'd2l_optim', 'reproduce', '--backends', b,
                                   '--out', out], capture_output=True, text=True, env=_child_env(),
                                  timeout=timeout)
            wall = time.perf_counter() - tik
        error = '' if done.returncode == 0 else (done.stderr.strip().splitlines() or ['failed'])[-1]
        label = ALL_BACKENDS_ROW if ',' in b and set(b.split(',')) >= ALL_FOUR else b
        rows.append({'backend': label, 'seconds': wall, 'returncode': done.returncode, 'error': error,
                     'load': os.getloadavg()[0] if hasattr(os, 'getloadavg') else None})
        progress(f'reproduce {b}: {wall:.1f} s')
    return rows
