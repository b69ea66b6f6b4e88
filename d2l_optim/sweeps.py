r"""Hundreds of airfoil runs of one rule as one batched computation.

``sweep('rmsprop', {'lr': [0.001, 0.01, 0.1]}, seeds=range(5))`` trains the
chapter's linear regression 15 times at once. The runs lie on a leading axis:
the weight and the bias of run k are row k of one array ``theta`` of shape
(K, d + 1) (the bias is the last column, the features get a column of ones),
and each hyperparameter is an array of shape (K, 1) that broadcasts over it.
The rules are elementwise, so one call of the *same* ``rules.RULES[name].update``
(through :func:`~d2l_optim.rules.apply_rule`, which keeps the one step counter
``t``) advances every run; nothing here re-states a rule.

Run k is exactly ``fit_ch11(..., seed=seed_k)`` with its hyperparameters: one
``np.random.default_rng(seed_k)`` draws w ~ N(0, 0.01^2) first and then each
epoch's minibatch permutation, the loss on all the data is taken every 200
examples, and the gradient is the closed form of
:func:`~d2l_optim.harness.linreg_gradients`. Runs that share a seed share their
minibatches, so with the runs ordered seed-major the model's products are one
matrix product per seed. A run that diverges (:func:`~d2l_optim.harness.diverged`)
is frozen where it was and marked with the epoch; the others go on unchanged.

Backend interface. A backend sweeps when :data:`SWEEP_BACKENDS` maps its name to
an array module offering ``asarray(ndarray)`` (keeping the dtype) and
``where(mask, a, b)``; its adapter's :class:`~d2l_optim.backend.Backend` record
gives the rules' namespace ``xp`` (the one its single runs use) and ``to_numpy``.
Its arrays must support ``@``, ``reshape``, slicing, ``.mean(-1)`` and the
arithmetic operators. If the module has ``get_num_threads``/``set_num_threads``
(PyTorch), the sweep runs on one intra-op thread and restores the setting after:
its arrays are small (K x 6), and on a shared 2-core machine the thread hand-offs
made a K = 100 PyTorch sweep 10x slower. NumPy, PyTorch and JAX (``'jax.numpy'``,
added with its adapter) are in; on JAX the batch runs op by op, not jitted, so it is
exact but slow (a 4-run Adam sweep took 29 s on a loaded machine). TensorFlow and
MXNet are refused with a sentence naming the backends that sweep.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .harness import diverged
from .ops import scalar_ops
from .rules import Rule, apply_rule, get_rule, validate_hyperparams

#: backend -> the array module whose ``asarray`` and ``where`` the sweep uses
SWEEP_BACKENDS: dict[str, str] = {'numpy': 'numpy', 'torch': 'torch', 'jax': 'jax.numpy'}
#: examples between two evaluations of the full-data loss, as in ``train_ch11``
EVAL_EVERY = 200
#: a sweep whose arrays would take more than this is refused before allocating
MAX_BYTES = 2 * 1024 ** 3
#: more runs than this cannot fit in MAX_BYTES whatever the rule (each holds 3 float32
#: predictions per example of the 1500 airfoil rows): refused before any grid is built
MAX_RUNS = MAX_BYTES // (4 * 3 * 1500)
#: the least-squares optimum of the 1500-row airfoil problem, 1/2 mean squared residual
LEAST_SQUARES_LOSS = 0.24169
DTYPES = {'float32': np.float32, 'float64': np.float64}
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


def array_api(backend: str) -> ArrayAPI:
    """The sweep's view of ``backend``; a ValueError names the backends that sweep."""
    from .backend import BACKENDS, load_backend
    key = str(backend).lower()
    if key not in SWEEP_BACKENDS:
        if key in BACKENDS:
            raise ValueError(f"sweep does not run on {key}: it runs on {', '.join(SWEEP_BACKENDS)} "
                             f"(e.g. backend='numpy')")
        raise ValueError(f"unknown backend {backend!r}; sweep runs on: {', '.join(SWEEP_BACKENDS)}")
    record = load_backend(key).BACKEND
    module = importlib.import_module(SWEEP_BACKENDS[key])
    return ArrayAPI(key, record.xp, module.asarray, module.where, record.to_numpy, module)


class _KeyRecorder(dict):
    """A hyperparameter dict that remembers which names a rule reads."""

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.read: list[str] = []

    def _note(self, key: str) -> None:
        if key not in self.read:
            self.read.append(key)

    def __getitem__(self, key: str) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)


def hyperparams_taken(rule: str | Rule) -> list[str]:
    """The hyperparameters ``rule`` reads, found by running its update once on floats
    (the book's defaults first, then ``eps`` where the rule has one)."""
    rule = get_rule(rule)
    hp = _KeyRecorder(rule.defaults)
    rule.update(1.0, 1.0, rule.init(1.0, scalar_ops), hp, 1, scalar_ops)
    return [*rule.defaults, *(k for k in hp.read if k not in rule.defaults and k != 't')]


@dataclass
class SweepResult:
    """The runs of one sweep, in the order of ``product(grid points, seeds)``."""

    optimizer: str
    backend: str
    runs: list[dict]
    x: list[float]                   # epochs at which the losses were taken (shared by all runs)
    wall_s: float
    dtype: str = 'float32'
    grid: dict = field(default_factory=dict)

    def to_json(self) -> list[dict]:
        """The runs with NaN/inf written as null, so the JSON is valid."""
        clean = lambda v: v if v is None or math.isfinite(v) else None  # noqa: E731
        return [{**r, 'losses': [clean(v) for v in r['losses']], 'final_loss': clean(r['final_loss'])}
                for r in self.runs]


def _check_grid(rule: Rule, grid: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"the grid is empty; give at least one hyperparameter with values, "
                         f"e.g. {{'lr': [0.001, 0.01, 0.1]}} ({rule.name} takes: "
                         f"{', '.join(hyperparams_taken(rule))})")
    taken = hyperparams_taken(rule)
    out: dict[str, list[float]] = {}
    for name, values in grid.items():
        if name not in taken:
            raise ValueError(f"{rule.name} does not take {name!r}; it takes: {', '.join(taken)}")
        if isinstance(values, (str, bytes)):
            raise ValueError(f"the grid's {name} is the string {values!r}; give numbers, e.g. "
                             f"{{{name!r}: [0.01, 0.1]}}")
        try:
            values = list(values)
        except TypeError:           # one number (a Python or NumPy scalar)
            values = [values]
        if not values:
            raise ValueError(f"the grid's {name} has no values; give at least one")
        for i, v in enumerate(values):
            try:
                v = float(v)
                validate_hyperparams({name: v})
                if not math.isfinite(v):
                    raise ValueError(f"{name} must be finite, got {v!r}")
            except (TypeError, ValueError) as e:
                raise ValueError(f"grid value {name}[{i}] = {values[i]!r} is invalid: {e}") from None
            values[i] = v
        out[name] = values
    return out


def _check_seeds(seeds: Iterable[int]) -> list[int]:
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seeds:
        raise ValueError('seeds is empty; give at least one, e.g. seeds=(0,)')
    for i, s in enumerate(seeds):
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0:
            raise ValueError(f"seeds[{i}] = {s!r} is not a non-negative integer")
    return [int(s) for s in seeds]


def evaluation_points(n: int, batch_size: int, num_epochs: int) -> list[tuple[int, int, float]]:
    """``(epoch, step in epoch, x)`` after which ``train_ch11`` evaluates the loss: every time
    the examples seen reach a multiple of 200, or once at the end if that never happens."""
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


def estimate_bytes(runs: int, seeds: int, n: int, features: int, n_states: int,
                   n_evals: int, itemsize: int) -> int:
    """The arrays a sweep holds at once: parameters, gradients and states per run, the
    full-data predictions of an evaluation, one epoch of shuffled data per seed, the losses."""
    p = features + 1
    per_run = p * (4 + 2 * n_states) + 3 * n + n_evals
    return itemsize * (runs * per_run + 3 * seeds * n * p)


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
    grid = _check_grid(rule, grid)
    seeds = _check_seeds(seeds)
    if not isinstance(num_epochs, (int, np.integer)) or num_epochs < 1:
        raise ValueError(f"num_epochs must be an integer >= 1, got {num_epochs!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    X, y = _airfoil(n, path)
    if not isinstance(batch_size, (int, np.integer)) or not 0 < batch_size <= n:
        raise ValueError(f"batch_size must be an integer in [1, {n}], got {batch_size!r}")
    d = X.shape[1]
    names = list(grid)
    G, S = math.prod(len(grid[k]) for k in names), len(seeds)
    K, P = G * S, d + 1
    evals = evaluation_points(n, batch_size, num_epochs)
    ftype = DTYPES[dtype]
    need = estimate_bytes(K, S, n, d, rule.n_states, len(evals), np.dtype(ftype).itemsize)
    if need > MAX_BYTES:        # before the grid's points or any array are made
        raise ValueError(f"this sweep of {K} runs would need about {need / 2 ** 30:.1f} GiB "
                         f"(limit {MAX_BYTES / 2 ** 30:.0f} GiB); use fewer values or seeds, "
                         f"or split the grid")
    points = list(itertools.product(*(grid[k] for k in names)))
    api = array_api(backend)
    kept = api.to_numpy(api.asarray(np.zeros(1, ftype))).dtype
    if kept != ftype:       # JAX, unless x64 is on: float64 arrays silently become float32
        raise ValueError(f"dtype {dtype!r} on {api.name}: its arrays come back as {kept}; "
                         f"{PRECISION_HINT.get(api.name, 'use dtype=' + repr('float32'))}")

    start = time.perf_counter()
    # Internal order is seed-major (k = s * G + g): runs sharing a seed are contiguous.
    hp: dict[str, Any] = dict(rule.defaults)
    for j, name in enumerate(names):
        column = np.array([p[j] for p in points], dtype=ftype)
        hp[name] = api.asarray(np.tile(column, S).reshape(K, 1))
    rngs = [np.random.default_rng(s) for s in seeds]
    theta0 = np.zeros((S, G, P), dtype=ftype)
    for i, rng in enumerate(rngs):          # the same draw as harness._init_weights
        w0 = rng.normal(0.0, 0.01, size=(d, 1)).astype(np.float32)
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
    wall = time.perf_counter() - start

    runs = []
    for g, point in enumerate(points):
        for s, seed in enumerate(seeds):
            k = s * G + g
            curve = [float(v) for v in losses[:stopped_at[k], k]]
            runs.append({
                'backend': api.name, 'optimizer': rule.name,
                'hyperparams': {**{key: float(v) for key, v in rule.defaults.items()},
                                **dict(zip(names, point))},
                'seed': seed, 'losses': curve, 'final_loss': curve[-1] if curve else math.nan,
                'diverged': diverged_at[k] is not None, 'diverged_epoch': diverged_at[k],
            })
    return SweepResult(rule.name, api.name, runs, [p[2] for p in evals], wall, dtype, grid)


@functools.lru_cache(maxsize=4)
def _airfoil(n: int, path: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The arrays ``get_data_ch11(batch_size, n)`` trains on, read once per process
    (a study of 7 sweeps would otherwise parse the file 7 times)."""
    from .data import get_data_ch11
    loader, _ = get_data_ch11(1, n, path=path)      # validates n
    X, y = loader.arrays
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _freeze(new: Any, old: Any, keep: Any, where: Callable) -> Any:
    """A packed rule state (an array, a tuple of arrays, or None) with frozen runs kept old."""
    if new is None:
        return None
    if isinstance(new, tuple):
        return tuple(where(keep, a, b) for a, b in zip(new, old))
    return where(keep, new, old)


# ---------------------------------------------------------------- reading a sweep

def swept_param(runs: Sequence[dict], preferred: Sequence[str] = ('lr', 'gamma', 'rho', 'momentum',
                                                                  'beta1', 'beta2', 'eps')) -> str | None:
    """The first hyperparameter that takes more than one value in ``runs`` (``lr`` first)."""
    for name in preferred:
        if len({r['hyperparams'].get(name) for r in runs if name in r['hyperparams']}) > 1:
            return name
    return None


def _final(run: dict) -> float:
    v = run['final_loss']
    return math.inf if run['diverged'] or v is None or not math.isfinite(v) else float(v)


def curve(runs: Sequence[dict], param: str | None) -> dict[str, np.ndarray]:
    """Median, min and max final loss over seeds at each value of ``param`` (one rule's runs),
    the other hyperparameters held at the best point. Diverged runs count as inf."""
    by_point: dict[tuple, list[dict]] = {}
    for r in runs:
        by_point.setdefault(tuple(sorted(r['hyperparams'].items())), []).append(r)
    medians = {pt: float(np.median([_final(r) for r in rs])) for pt, rs in by_point.items()}
    best = min(medians, key=medians.get)
    best_hp = dict(best)
    if param is None or param not in best_hp:
        rs = by_point[best]
        finals = np.array([_final(r) for r in rs])
        return {'values': np.array([math.nan]), 'median': np.array([medians[best]]),
                'min': finals.min(keepdims=True), 'max': finals.max(keepdims=True),
                'diverged': np.array([sum(r['diverged'] for r in rs)]), 'best': best_hp}
    line = sorted((pt for pt in by_point
                   if all(v == best_hp[k] for k, v in pt if k != param)), key=lambda pt: dict(pt)[param])
    finals = [np.array([_final(r) for r in by_point[pt]]) for pt in line]
    return {'values': np.array([dict(pt)[param] for pt in line]),
            'median': np.array([medians[pt] for pt in line]),
            'min': np.array([f.min() for f in finals]), 'max': np.array([f.max() for f in finals]),
            'diverged': np.array([sum(r['diverged'] for r in by_point[pt]) for pt in line]),
            'best': best_hp}


def robustness_width(values: np.ndarray, medians: np.ndarray, tolerance: float = 0.01) -> float:
    """hi / lo of the unbroken range of values around the best one whose median final loss
    stays within ``tolerance`` (1%) of the best; 1.0 when only the best point qualifies."""
    if len(values) == 0 or not np.isfinite(medians).any():
        return math.nan
    b = int(np.nanargmin(np.where(np.isfinite(medians), medians, np.inf)))
    ok = medians <= medians[b] * (1 + tolerance)
    lo = hi = b
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(values) - 1 and ok[hi + 1]:
        hi += 1
    return float(values[hi] / values[lo])


def summarize(runs: Sequence[dict], param: str | None = None) -> list[dict]:
    """One row per rule: the best value of ``param``, the median final loss there over seeds,
    the robustness width, and how many runs diverged."""
    param = param or swept_param(runs)
    rows = []
    for name, rs in _by_rule(runs).items():
        own = param if param and len({r['hyperparams'].get(param) for r in rs}) > 1 else swept_param(rs)
        c = curve(rs, own)
        if own is None:
            best, median, width = math.nan, float(c['median'][0]), math.nan
        elif all(r['diverged'] for r in rs):      # no best value to name
            best = median = width = math.nan
        else:
            b = int(np.argmin(c['median']))
            best, median = float(c['values'][b]), float(c['median'][b])
            width = robustness_width(c['values'], c['median'])
        rows.append({'optimizer': name, 'param': own, 'best': best, 'median_final_loss': median,
                     'width': width, 'runs': len(rs), 'diverged': sum(r['diverged'] for r in rs),
                     'best_hyperparams': c['best']})
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """The summary as aligned text, one line per rule."""
    lines = [f"{'optimizer':<10} {'swept':<6} {'best':>10} {'median final loss':>18} "
             f"{'width (hi/lo)':>14} {'diverged':>10}"]
    for r in rows:
        best = '-' if r['param'] is None or not math.isfinite(r['best']) else f"{r['best']:.4g}"
        width = '-' if not math.isfinite(r['width']) else f"{r['width']:.3g}x"
        median = (f"{r['median_final_loss']:.5f}" if math.isfinite(r['median_final_loss'])
                  else 'all diverged')
        lines.append(f"{r['optimizer']:<10} {r['param'] or '-':<6} {best:>10} "
                     f"{median:>18} {width:>14} {r['diverged']:>4}/{r['runs']:<5}")
    return '\n'.join(lines)


def _by_rule(runs: Sequence[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in runs:
        out.setdefault(r['optimizer'], []).append(r)
    return out


def sensitivity_figure(runs: Sequence[dict], param: str | None = None, figsize=(6.5, 4),
                       title: str | None = None):
    """Final loss against ``param`` (log axis): per rule a median line and a min-max band over
    seeds, x where a run diverged, the least-squares optimum dashed. A rule not swept on
    ``param`` is drawn flat at its best point."""
    import matplotlib.pyplot as plt
    param = param or swept_param(runs) or 'lr'
    fig, ax = plt.subplots(figsize=figsize)
    by_rule = _by_rule(runs)
    swept = {name: curve(rs, param if len({r['hyperparams'].get(param) for r in rs}) > 1 else None)
             for name, rs in by_rule.items()}
    xs = np.concatenate([c['values'] for c in swept.values() if np.isfinite(c['values']).all()]
                        or [np.array([1e-3, 1.0])])
    finite = np.concatenate([c['max'][np.isfinite(c['max'])] for c in swept.values()] + [np.array([])])
    top = min(float(np.max(finite)) * 1.2 if finite.size else 1.0, 10.0)
    top = max(top, LEAST_SQUARES_LOSS * 1.5)
    bottom = LEAST_SQUARES_LOSS * 0.97
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for i, (name, c) in enumerate(swept.items()):
        color = colors[i % len(colors)]
        if not np.isfinite(c['values']).all():      # not swept on param: flat at its best point
            ax.axhline(c['median'][0], color=color, lw=1.5, ls=':',
                       label=f"{name} (no {param}; {_short(c['best'])})")
            continue
        v = c['values']
        ax.plot(v, np.where(np.isfinite(c['median']), c['median'], np.nan), '-', color=color, lw=1.5,
                label=name)
        lo, hi = np.minimum(c['min'], top), np.minimum(c['max'], top)
        ax.fill_between(v, lo, hi, color=color, alpha=0.2, lw=0)
        bad = c['diverged'] > 0
        if bad.any():
            y = top * (bottom / top) ** (0.03 + 0.035 * i)     # one row of marks per rule
            ax.plot(v[bad], np.full(bad.sum(), y), 'x', color=color, ms=5, mew=1.5)
    ax.axhline(LEAST_SQUARES_LOSS, color='k', ls='--', lw=1, label=f'least squares {LEAST_SQUARES_LOSS}')
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_xlim(xs.min(), xs.max())
    ax.set_ylim(bottom, top)
    ax.set_xlabel(param)
    ax.set_ylabel('final loss (median, min-max over seeds)')
    ax.set_title(title or f'final loss after training against {param}; x: a seed diverged there',
                 fontsize=9)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=7, loc='upper left', ncol=2)
    fig.tight_layout()
    return fig


def _short(hp: Mapping[str, float]) -> str:
    return ', '.join(f'{k}={v:g}' for k, v in hp.items())
