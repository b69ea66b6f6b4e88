"""Benchmarks: our harnesses next to hand-written loops, per backend, in one process.

For each backend, optimizer (RMSProp, Adam) and batch size the airfoil regression is
trained by up to eight variants, interleaved round-robin so that drift in machine load
hits them alike (:mod:`.cells`):

* ``floor``: a minimal hand-written loop in the framework, update rule written inline (:mod:`.floors`);
* ``scratch``: our ``fit_ch11`` (what ``train_ch11`` runs) with the book's optimizer;
* ``floor_builtin``: a minimal loop with the framework's own optimizer;
* ``concise``: our ``fit_concise_ch11`` with the same optimizer;
* ``*_compiled``: the same four with the step compiled (``tf.function``, Gluon hybridize, ``jax.jit``).

Every variant uses the same seed, so the same initial weights and minibatch order, and
the floors stop their clock for the same full-data evaluation every 200 examples that
the harness makes: their losses match ours and the ratio measures only our overhead.
Beside them: import, sweep and ``reproduce`` timings (:mod:`.timings`), the machine
(:mod:`.machine`), the goals as data (:mod:`.goals`), saved reports merged
(:mod:`.merge`), and the tables and document (:mod:`.tables`, :mod:`.document`).
Frameworks are imported inside the functions that need them.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from .cells import bench_training
from .config import (ALL_BACKENDS_ROW, BASELINE, BATCH_SIZES, BUILTIN, EAGER, EPOCHS, HYPERPARAMS,
                     OPTIMIZERS, VARIANTS, BenchConfig)
from .goals import goals, sweep_goals
from .machine import cpu_model, machine_info
from .merge import derive, from_json, load_report, merge_reports
from .results import Measurement, Sample, add_ratios, measurements_from_json
from .timings import import_time, import_times, reproduce_times, sweep_times

__all__ = ['ALL_BACKENDS_ROW', 'BASELINE', 'BATCH_SIZES', 'BUILTIN', 'EAGER', 'EPOCHS', 'HYPERPARAMS',
           'OPTIMIZERS', 'VARIANTS', 'BenchConfig', 'Measurement', 'Sample', 'add_ratios',
           'bench_training', 'cpu_model', 'derive', 'from_json', 'goals', 'import_time', 'import_times',
           'load_report', 'machine_info', 'measurements_from_json', 'merge_reports', 'reproduce_times',
           'run_bench', 'sweep_goals', 'sweep_times']


def run_bench(config: BenchConfig, *, imports: bool = True, reproduce: bool = True,
              import_repeats: int = 3, progress: Callable[[str], None] = lambda s: None,
              sweeps: bool = True) -> dict:
    """Everything the ``bench`` command prints and writes, as one JSON-ready dict."""
    config.validate()
    started = time.time()
    report: dict[str, Any] = {'machine': machine_info(config.backends), 'config': config.to_json()}
    report['imports'] = import_times(config.backends, import_repeats, progress) if imports else []
    measurements = bench_training(config, progress)
    report['measurements'] = [m.to_json() for m in measurements]
    report['sweep'] = sweep_times(config.backends, progress) if sweeps else []
    report['reproduce'] = reproduce_times(config.backends, progress) if reproduce else []
    report['goals'] = goals(measurements, report['imports'], report['sweep'], report['reproduce'])
    report['seconds'] = time.time() - started
    if hasattr(os, 'getloadavg'):    # other work on the machine skews timings: say how much
        report['machine']['load_average_end'] = list(os.getloadavg())
    return report
