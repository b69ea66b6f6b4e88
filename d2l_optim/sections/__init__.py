"""The chapter's code, one module per section, as ``reproduce`` and the notebooks use it.

``registry`` holds the experiment records and the registry; ``intro`` (11.1),
``convexity`` (11.2), ``gd`` (11.3), ``sgd`` (11.4), ``minibatch_sgd`` (11.5),
``momentum`` (11.6), ``adagrad`` (11.7), ``rmsprop`` (11.8), ``adadelta`` (11.9),
``adam`` (11.10) and ``lr_scheduling`` (11.11, imported on use) each hold one
section's code. Shared by several sections: ``objectives`` (the test functions),
``traces`` (1-D/2-D trajectories as results), ``airfoil_runs`` (scratch and concise
runs), ``airfoil_rows`` (their ``reproduce`` rows), ``cross_backend`` (one seed's run on
every backend and the frameworks' built-ins beside it, for the notebooks' last cells) and
``matmul`` (11.5's matrix products). Exercise answers are computed in the notebooks' cells.
Importing this package registers 11.1-11.10 and imports no framework.
"""
from . import (adadelta, adagrad, adam, convexity, gd, intro, minibatch_sgd,  # noqa: F401  (register)
               momentum, rmsprop, sgd)
from .registry import (CORE, EXPERIMENTS, SECTION_TITLES, SECTIONS, Context, Experiment, Result,
                       available_backends, book_results, check_book, experiment, run, select,
                       sort_experiments)

sort_experiments()

__all__ = ['CORE', 'EXPERIMENTS', 'SECTION_TITLES', 'SECTIONS', 'Context', 'Experiment', 'Result',
           'available_backends', 'book_results', 'check_book', 'experiment', 'run', 'select']
