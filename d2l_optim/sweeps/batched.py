r"""The runs of a sweep stacked on a leading axis and trained together.

The weight and the bias of run k are row k of one array ``theta`` of shape
(K, d + 1) (the bias is the last column, the features get a column of ones), and
each hyperparameter is an array of shape (K, 1) that broadcasts over it. The rules
are elementwise, so one call of the *same* ``rules.RULES[name].update`` (through
:func:`~d2l_optim.rules.apply_rule`, which keeps the one step counter ``t``)
advances every run; nothing here re-states a rule.

Run k is exactly ``fit_ch11(..., seed=seed_k)`` with its hyperparameters: one
``np.random.default_rng(seed_k)`` draws w ~ N(0, 0.01^2) first
(:func:`~d2l_optim.airfoil.init_weights`) and then each epoch's minibatch
permutation, the loss on all the data is taken where ``train_ch11`` takes it
(:func:`~d2l_optim.airfoil.evaluation_points`), and the gradient is the closed form
of :func:`~d2l_optim.airfoil.linreg_gradients`. Runs that share a seed share their
minibatches, so with the runs ordered seed-major (k = s * G + g) the model's
products are one matrix product per seed. A run that diverges
(:func:`~d2l_optim.harness.diverged`) is frozen where it was and marked with the
epoch; the others go on unchanged.

Backend interface. A backend sweeps when :data:`SWEEP_BACKENDS` maps its name to an
array module offering ``asarray(ndarray)`` (keeping the dtype) and
``where(mask, a, b)``; its adapter's :class:`~d2l_optim.backend.Backend` record gives the rules'
namespace ``xp`` (the one its single runs use) and ``to_numpy``. Its arrays must
support ``@``, ``reshape``, slicing, ``.mean(-1)`` and the arithmetic operators. If
the module has ``get_num_threads``/``set_num_threads`` (PyTorch), the sweep runs on
one intra-op thread and restores the setting after: its arrays are small (K x 6),
and on a shared 2-core machine the thread hand-offs made a K = 100 PyTorch sweep 10x
slower. NumPy, PyTorch and JAX (``'jax.numpy'``, added with its adapter) are in; on
JAX the batch runs op by op, not jitted, so it is exact but slow (a 4-run Adam sweep
took 29 s on a loaded machine). TensorFlow and MXNet are refused with a sentence
naming the backends that sweep.
"""
from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..airfoil import airfoil_arrays, evaluation_points, init_weights
from ..backend import BACKENDS, load_backend
from ..harness import diverged
from ..rules import Rule, apply_rule, get_rule
from .checks import DTYPES, check_batch_size, check_grid, check_memory, check_seeds, check_settings
from .summary import SweepResult

#: backend -> the array module whose ``asarray`` and ``where`` the sweep uses
SWEEP_BACKENDS: dict[str, str] = {'numpy': 'numpy', 'torch': 'torch', 'jax': 'jax.numpy'}
#: how to get float64 where a backend computes in float32 by default
PRECISION_HINT = {'jax': "call jax.config.update('jax_enable_x64', True) before the sweep "
                         "(or run it inside jax.enable_x64()), or use dtype='float32'"}


@dataclass(frozen=True)
class ArrayAPI:
    """What the sweep needs from a backend (see the module docstring)."""

    name: str
    xp: Any                                   # the rules' namespace (sqrt, sign, zeros_like)
    asarray: Callable[[np.ndarray], Any]      # NumPy -> backend array, same dtype
    where: Callable[[Any, Any, Any], Any]
    to_numpy: Callable[[Any], np.ndarray]
    module: Any = None                        # the array module (for its thread setting)

    @contextlib.contextmanager
    def one_thread(self) -> Iterator[None]:
        """Run the block on one intra-op thread where the module has that setting."""
        get, put = (getattr(self.module, f'{x}_num_threads', None) for x in ('get', 'set'))
        if get is None or put is None:
            yield
            return
        before = get()
        put(1)
        try:
            yield
        finally:
            put(before)

    def float_type(self, dtype: str) -> type:
        """The NumPy type of ``dtype`` once this backend has kept it; a ValueError where its
        arrays come back in another precision (JAX's float64 without x64)."""
        ftype = DTYPES[dtype]
        kept = self.to_numpy(self.asarray(np.zeros(1, ftype))).dtype
        if kept != ftype:
            raise ValueError(f"dtype {dtype!r} on {self.name}: its arrays come back as {kept}; "
                             f"{PRECISION_HINT.get(self.name, 'use dtype=' + repr('float32'))}")
        return ftype


def array_api(backend: str) -> ArrayAPI:
    """The sweep's view of ``backend``; a ValueError names the backends that sweep."""
    key = str(backend).lower()
    if key not in SWEEP_BACKENDS:
        if key in BACKENDS:
            raise ValueError(f"sweep does not run on {key}: it runs on {', '.join(SWEEP_BACKENDS)} "
                             f"(e.g. backend='numpy')")
        raise ValueError(f"unknown backend {backend!r}; sweep runs on: {', '.join(SWEEP_BACKENDS)}")
    record = load_backend(key).BACKEND
    module = importlib.import_module(SWEEP_BACKENDS[key])
    return ArrayAPI(key, record.xp, module.asarray, module.where, record.to_numpy, module)


def sweep(optimizer: str | Rule, grid: Mapping[str, Sequence[float]], seeds: Iterable[int] = (0,),
          backend: str = 'numpy', batch_size: int = 10, num_epochs: int = 2, *,
          dtype: str = 'float32', n: int = 1500, path: str | None = None) -> SweepResult:
    """Train every point of ``grid`` x ``seeds`` at once; each run equals the single
    ``fit_ch11`` run with that seed (same weights, minibatches and evaluation points).

    ``grid`` maps hyperparameter names to lists of values; names it leaves out take the
    book's defaults for the rule. ``dtype='float64'`` runs in double precision (the
    single runs are float32, as the book's). Bad input raises ``ValueError``.
    """
    rule = get_rule(optimizer)
    grid, seeds = check_grid(rule, grid), check_seeds(seeds)
    check_settings(num_epochs, dtype)
    X, y = airfoil_arrays(n, path)
    check_batch_size(batch_size, n)
    evals = evaluation_points(n, batch_size, num_epochs)
    G = math.prod(len(values) for values in grid.values())
    check_memory(G * len(seeds), len(seeds), n, X.shape[1], rule.n_states, len(evals), dtype)
    points = list(itertools.product(*grid.values()))
    api = array_api(backend)
    ftype = api.float_type(dtype)

    start = time.perf_counter()
    hp = _hyperparams(rule, list(grid), points, len(seeds), api, ftype)
    losses, diverged_at = _train(rule, hp, X, y, seeds, G, evals, batch_size, num_epochs, api, ftype)
    wall = time.perf_counter() - start
    runs = [{'backend': api.name, 'optimizer': rule.name,
             'hyperparams': {**{key: float(v) for key, v in rule.defaults.items()},
                             **dict(zip(grid, point))},
             'seed': seed, 'losses': losses[k], 'final_loss': losses[k][-1] if losses[k] else math.nan,
             'diverged': diverged_at[k] is not None, 'diverged_epoch': diverged_at[k]}
            for g, point in enumerate(points) for s, seed in enumerate(seeds) for k in [s * G + g]]
    return SweepResult(rule.name, api.name, runs, [p[2] for p in evals], wall, dtype, grid)


def _hyperparams(rule: Rule, names: list[str], points: list[tuple], S: int, api: ArrayAPI,
                 ftype: type) -> dict[str, Any]:
    """The rule's defaults, with each swept name a (K, 1) column in seed-major order."""
    hp: dict[str, Any] = dict(rule.defaults)
    for j, name in enumerate(names):
        column = np.array([p[j] for p in points], dtype=ftype)
        hp[name] = api.asarray(np.tile(column, S).reshape(S * len(points), 1))
    return hp


def _train(rule: Rule, hp: dict, X: np.ndarray, y: np.ndarray, seeds: list[int], G: int,
           evals: list[tuple[int, int, float]], batch_size: int, num_epochs: int, api: ArrayAPI,
           ftype: type) -> tuple[list[list[float]], list[int | None]]:
    """Train the K = G x len(seeds) runs; each run's losses up to where it stopped, and the
    epoch it diverged in (None if it did not)."""
    n, d = X.shape
    S, P = len(seeds), d + 1
    K = G * S
    rngs = [np.random.default_rng(s) for s in seeds]
    theta0 = np.zeros((S, G, P), dtype=ftype)
    for i, rng in enumerate(rngs):          # the same draw as train_ch11's
        w0, _ = init_weights(d, rng)
        theta0[i, :, :d] = w0[:, 0]
    theta = api.asarray(theta0.reshape(K, P))
    X1 = np.concatenate([X, np.ones((n, 1), X.dtype)], axis=1).astype(ftype)
    XT_full, y_full = api.asarray(np.ascontiguousarray(X1.T)), api.asarray(y.astype(ftype)[None, :])
    xp, where = api.xp, api.where

    states: list | None = None
    alive = np.ones(K, dtype=bool)
    first = np.full(K, np.nan)
    losses = np.full((len(evals), K), np.nan)
    diverged_at: list[int | None] = [None] * K
    stopped_at = np.full(K, len(evals))
    keep = None                               # where(keep, new, old): set once a run has diverged
    eval_iter = iter(enumerate(evals))
    next_eval = next(eval_iter)

    with np.errstate(over='ignore', invalid='ignore', divide='ignore'), api.one_thread():
        for epoch in range(num_epochs):
            orders = [rng.permutation(n) for rng in rngs]
            Xe = np.stack([X1[o] for o in orders])                                # (S, n, P)
            Xe_d = api.asarray(Xe)
            XeT_d = api.asarray(np.ascontiguousarray(Xe.transpose(0, 2, 1)))     # (S, P, n)
            ye_d = api.asarray(np.stack([y.astype(ftype)[o] for o in orders])[:, None, :])
            for j, i in enumerate(range(0, n, batch_size)):
                size = min(batch_size, n - i)
                residual = (theta.reshape(S, G, P) @ XeT_d[:, :, i:i + size] - ye_d[:, :, i:i + size]) / size
                grad = (residual @ Xe_d[:, i:i + size]).reshape(K, P)
                new, new_states = apply_rule(rule, [theta], [grad], states, hp, xp)
                if keep is not None:
                    new[0] = where(keep, new[0], theta)
                    new_states = [_freeze(s_new, s_old, keep, where)
                                  for s_new, s_old in zip(new_states, states or new_states)]
                theta, states = new[0], new_states
                if next_eval is not None and next_eval[1][:2] == (epoch, j):
                    e = next_eval[0]
                    pred = theta @ XT_full - y_full
                    value = api.to_numpy((pred * pred / 2).mean(-1)).astype(np.float64)
                    if e == 0:
                        first[:] = value
                    losses[e, alive] = value[alive]
                    for k in np.flatnonzero(alive):
                        if diverged(value[k], first[k] if e > 0 else None):
                            alive[k], diverged_at[k], stopped_at[k] = False, epoch + 1, e + 1
                    if not alive.all():
                        keep = api.asarray(alive.reshape(K, 1).copy())
                    next_eval = next(eval_iter, None)
    return [[float(v) for v in losses[:stopped_at[k], k]] for k in range(K)], diverged_at


def _freeze(new: Any, old: Any, keep: Any, where: Callable) -> Any:
    """A packed rule state (an array, a tuple of arrays, or None) with frozen runs kept old."""
    if new is None:
        return None
    if isinstance(new, tuple):
        return tuple(where(keep, a, b) for a, b in zip(new, old))
    return where(keep, new, old)
