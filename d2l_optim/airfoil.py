r"""The chapter's airfoil regression, in one place: the data, the model and when it is scored.

Every airfoil run of the package (``train_ch11``, ``train_concise_ch11``, the sweeps, the
checker's airfoil epoch, the bench's hand-written floors) takes these from here:

* the data: :func:`airfoil_arrays` (the first ``n`` z-scored rows, parsed once per process)
  and :func:`get_data_ch11` (the book's ``(data_iter, feature_dim)``);
* the start: :func:`init_weights`, :math:`w \sim \mathcal{N}(0, 0.01^2)` of shape (d, 1) and
  :math:`b = 0`, drawn from one NumPy generator that then orders the minibatches
  (:func:`seeded_generator`);
* the model: :func:`linreg` :math:`Xw + b`, :func:`squared_loss` :math:`\frac12(\hat y - y)^2`
  and its closed-form gradients :func:`linreg_gradients` (NumPy has no autograd);
* the scoring: the loss on all the data after every :data:`EVAL_EVERY` examples
  (:func:`evaluation_points` lists where, for in-memory data).
"""
from __future__ import annotations

import functools
import os
from typing import Any, Callable

import numpy as np

from .data import ArrayLoader, download, read_airfoil

#: examples between two evaluations of the loss on all the data, as in the book's train_ch11
EVAL_EVERY = 200
#: the rows the book trains on
AIRFOIL_ROWS = 1500


def airfoil_arrays(n: int = AIRFOIL_ROWS, path: str | os.PathLike | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` rows as float32 ``(X, y)``: the 5 z-scored features and the label.

    The file is found and SHA-1 checked on every call (so a missing or corrupt file is
    always reported) and parsed once per process; each call gets its own arrays.
    """
    table = _table(download('airfoil', path=path))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 < n <= len(table):
        raise ValueError(f"n must be an integer in [1, {len(table)}], got {n!r}")
    return table[:n, :-1].copy(), table[:n, -1].copy()


@functools.lru_cache(maxsize=4)
def _table(file: str) -> np.ndarray:
    """The whole z-scored table of ``file`` (already checked), read-only, parsed once."""
    table = read_airfoil(file)
    table.setflags(write=False)
    return table


def get_data_ch11(batch_size: int = 10, n: int = AIRFOIL_ROWS, convert: Callable = lambda a: a,
                  path: str | os.PathLike | None = None,
                  rng: np.random.Generator | None = None) -> tuple[ArrayLoader, int]:
    """The airfoil data as ``(data_iter, feature_dim)``: first n rows, 5 features, 1 label."""
    X, y = airfoil_arrays(n, path)
    return ArrayLoader((X, y), batch_size, True, convert, rng), X.shape[1]


def seeded_generator(data_iter: Any, seed: int | None) -> np.random.Generator:
    """The run's one NumPy generator: it draws the weights, then (for a seeded
    :class:`~d2l_optim.data.ArrayLoader`) every epoch's minibatch order."""
    rng = np.random.default_rng(seed)
    if seed is not None and isinstance(data_iter, ArrayLoader):
        data_iter.rng = rng
    return rng


def init_weights(feature_dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """w ~ N(0, 0.01^2) of shape (feature_dim, 1) and b = 0, float32, from ``rng``."""
    return (rng.normal(0.0, 0.01, size=(feature_dim, 1)).astype(np.float32),
            np.zeros(1, dtype=np.float32))


def linreg(X, w, b, xp):
    """The linear model X w + b."""
    return xp.matmul(X, w) + b


def squared_loss(y_hat, y, xp):
    """Half the squared error, per example."""
    d = y_hat - xp.reshape(y, y_hat.shape)
    return d * d / 2


def linreg_gradients(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> list:
    """Analytic gradients of mean(squared_loss(linreg(X, w, b), y)), for NumPy (no autograd)."""
    r = (X @ w + b - y.reshape(-1, 1)) / X.shape[0]
    return [X.T @ r, r.sum(axis=0)]


def evaluation_points(n: int, batch_size: int, num_epochs: int) -> list[tuple[int, int, float]]:
    """``(epoch, step in epoch, x)`` after which ``train_ch11`` evaluates the loss on ``n``
    in-memory examples: every time the examples seen reach a multiple of :data:`EVAL_EVERY`,
    or once at the end if that never happens; ``x`` is the book's
    ``n / X.shape[0] / len(data_iter)``."""
    batches, seen, points = -(-n // batch_size), 0, []
    for epoch in range(num_epochs):
        for j, i in enumerate(range(0, n, batch_size)):
            size = min(batch_size, n - i)
            seen += size
            if seen % EVAL_EVERY == 0:
                points.append((epoch, j, seen / size / batches))
    if not points:
        points.append((num_epochs - 1, batches - 1, float(num_epochs)))
    return points
