r"""Hundreds of airfoil runs of one rule as one batched computation.

``sweep('rmsprop', {'lr': [0.001, 0.01, 0.1]}, seeds=range(5))`` trains the
chapter's linear regression 15 times at once, each run exactly the single
``fit_ch11`` run with its seed and hyperparameters. The package, one idea a module:

* :mod:`.batched`: :func:`sweep` itself, the runs stacked on a leading axis and
  advanced by one call of the *same* rule per step, and what a backend must offer
  to sweep (:data:`SWEEP_BACKENDS`);
* :mod:`.checks`: the grid, the seeds and the memory a sweep would take, refused
  with one clear line before anything is allocated;
* :mod:`.summary`: reading the runs (:class:`SweepResult`, :func:`summarize`,
  :func:`format_table`, :func:`robustness_width`, :func:`sensitivity_figure`).
"""
from ..airfoil import evaluation_points
from .batched import PRECISION_HINT, SWEEP_BACKENDS, ArrayAPI, array_api, sweep
from .checks import DTYPES, MAX_BYTES, MAX_RUNS, estimate_bytes, hyperparams_taken
from .summary import (LEAST_SQUARES_LOSS, SweepResult, curve, format_table, robustness_width,
                      sensitivity_figure, summarize, swept_param)

__all__ = ['sweep', 'SweepResult', 'summarize', 'format_table', 'robustness_width', 'curve',
           'swept_param', 'sensitivity_figure', 'LEAST_SQUARES_LOSS', 'hyperparams_taken',
           'estimate_bytes', 'MAX_BYTES', 'MAX_RUNS', 'SWEEP_BACKENDS', 'ArrayAPI', 'array_api',
           'DTYPES', 'PRECISION_HINT', 'evaluation_points']
