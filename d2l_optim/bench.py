"""Benchmarks: our harnesses next to hand-written loops, per backend, in one process.

For each backend, optimizer (RMSProp, Adam) and batch size the airfoil regression is
trained by up to eight variants, interleaved round-robin so that drift in machine load
hits them alike:

* ``floor``: a minimal hand-written loop in the framework, update rule written inline;
* ``scratch``: our ``fit_ch11`` (what ``train_ch11`` runs) with the book's optimizer;
* ``floor_builtin``: a minimal loop with the framework's own optimizer;
* ``concise``: our ``fit_concise_ch11`` with the same optimizer;
* ``*_compiled``: the same four with the step compiled (``tf.function``, Gluon hybridize).

Every variant uses the same seed, so the same initial weights and minibatch order, and
the floors stop their clock for the same full-data evaluation every 200 examples that
the harness makes: their losses match ours and the ratio measures only our overhead.
Frameworks are imported inside the functions that need them.
"""
from __future__ import annotations

import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

OPTIMIZERS = ('rmsprop', 'adam')
BATCH_SIZES = (1, 10, 100, 1500)
#: epochs per batch size: 300 steps at batch 10 (the book's run), at least 40 steps
#: elsewhere; batch 1 gets one epoch (1500 steps), eager TensorFlow pays per op
EPOCHS = {1: 1, 10: 2, 100: 10, 1500: 40}
#: backends whose batch-1 cells run fewer repeats (eager per-op cost x 1500 steps)
SLOW_AT_BATCH_1 = ('tensorflow', 'mxnet', 'jax')
HYPERPARAMS = {'rmsprop': {'lr': 0.01, 'gamma': 0.9}, 'adam': {'lr': 0.01}}
#: the framework's own optimizer per rule, as train_concise_ch11 takes it
BUILTIN = {
    'numpy': {'rmsprop': ('rmsprop', {'lr': 0.01, 'gamma': 0.9}), 'adam': ('adam', {'lr': 0.01})},
    'torch': {'rmsprop': ('RMSprop', {'lr': 0.01, 'alpha': 0.9}), 'adam': ('Adam', {'lr': 0.01})},
    'tensorflow': {'rmsprop': ('RMSprop', {'lr': 0.01, 'rho': 0.9}), 'adam': ('Adam', {'lr': 0.01})},
    'mxnet': {'rmsprop': ('rmsprop', {'learning_rate': 0.01, 'gamma1': 0.9}),
              'adam': ('adam', {'learning_rate': 0.01})},
    'jax': {'rmsprop': ('rmsprop', {'lr': 0.01, 'gamma': 0.9}), 'adam': ('adam', {'lr': 0.01})},
}
VARIANTS = ('floor', 'scratch', 'floor_compiled', 'scratch_compiled',
            'floor_builtin', 'concise', 'floor_builtin_compiled', 'concise_compiled')
#: what each variant's ratio is taken against (NumPy has no optimizer library: its
#: concise path runs a core rule, so its baseline falls back to the plain floor)
BASELINE = {'scratch': 'floor', 'scratch_compiled': 'floor_compiled',
            'concise': 'floor_builtin', 'concise_compiled': 'floor_builtin_compiled'}
#: a compiled variant and its eager twin (the speedup of compiling)
EAGER = {'floor_compiled': 'floor', 'scratch_compiled': 'scratch',
         'floor_builtin_compiled': 'floor_builtin', 'concise_compiled': 'concise'}
EVAL_EVERY = 200        # examples between full-data evaluations, as in harness._fit
FRAMEWORKS = ('torch', 'tensorflow', 'mxnet', 'jax', 'matplotlib')


@dataclass
class BenchConfig:
    """What to measure; :meth:`quick` is the tiny configuration the tests use."""

    backends: Sequence[str]
    optimizers: Sequence[str] = OPTIMIZERS
    batch_sizes: Sequence[int] = BATCH_SIZES
    repeats: int = 3                        # timed calls per variant, at least ...
    slow_repeats: int = 2                   # ... (TF/MXNet at batch size 1: at most this many)
    min_seconds: float = 1.5                # ... and more rounds until a cell took this long,
    max_repeats: int = 15                   # up to this many (cheap cells get steadier medians)
    epochs: dict = field(default_factory=lambda: dict(EPOCHS))
    n: int = 1500                           # airfoil rows used
    variants: Sequence[str] = VARIANTS
    seed: int = 0
    torch_compile: bool = False             # also time torch.compile (not offered; slow)

    @classmethod
    def quick(cls, backends: Sequence[str], **overrides: Any) -> 'BenchConfig':
        cfg = dict(batch_sizes=(10, 100), repeats=1, slow_repeats=1, epochs={10: 1, 100: 2}, n=200,
                   min_seconds=0.0)
        cfg.update(overrides)
        return cls(backends=list(backends), **cfg)

    def epochs_for(self, batch_size: int) -> int:
        return int(self.epochs.get(batch_size, 2))

    def repeats_for(self, backend: str, batch_size: int) -> int:
        slow = backend in SLOW_AT_BATCH_1 and batch_size == 1
        return max(1, min(self.repeats, self.slow_repeats) if slow else self.repeats)

    def validate(self) -> None:
        from .backend import BACKENDS
        from .rules import get_rule
        for b in self.backends:
            if b not in BACKENDS:
                raise ValueError(f"unknown backend {b!r}; choose one of: {', '.join(BACKENDS)}")
        for o in self.optimizers:
            if get_rule(o).name not in HYPERPARAMS:
                raise ValueError(f"the bench times {', '.join(HYPERPARAMS)}, not {o!r}")
        for v in self.variants:
            if v not in VARIANTS:
                raise ValueError(f"unknown variant {v!r}; choose from: {', '.join(VARIANTS)}")
        if not 0 < self.n <= 1503:
            raise ValueError(f'n must be in [1, 1503], got {self.n}')
        for bs in self.batch_sizes:
            if not isinstance(bs, int) or not 0 < bs <= self.n:
                raise ValueError(f'batch sizes must be integers in [1, {self.n}], got {bs!r}')
        if not 1 <= self.repeats <= self.max_repeats or self.slow_repeats < 1:
            raise ValueError(f'repeats must be in [1, {self.max_repeats}], got {self.repeats}'
                             + (f'/{self.slow_repeats}' if self.slow_repeats < 1 else ''))


@dataclass
class Sample:
    """One timed call."""

    sec_per_epoch: float        # training time / epochs, evaluations excluded (as train_ch11)
    steady: float               # sec/epoch after the first evaluation point (no start-up, no trace)
    wall_s: float               # the whole call: training, evaluations, drawing the figure once
    final_loss: float


@dataclass
class Measurement:
    """Medians of the repeats of one variant in one cell (backend, optimizer, batch size)."""

    backend: str
    optimizer: str
    batch_size: int
    variant: str
    epochs: int
    samples: list = field(default_factory=list)   # Sample per repeat (warm-up excluded)
    note: str = ''                                 # why a variant did not run
    ratio: float | None = None                     # sec/epoch over the baseline's (see BASELINE)
    baseline: str | None = None
    speedup: float | None = None                   # eager twin's sec/epoch over this one's
    speedup_steady: float | None = None            # the same after the first evaluation (no trace)

    @property
    def ok(self) -> bool:
        return bool(self.samples)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples) if self.samples else math.nan

    @property
    def sec_per_epoch(self) -> float:
        return self.median('sec_per_epoch')

    @property
    def steady(self) -> float:
        return self.median('steady')

    @property
    def wall_s(self) -> float:
        return self.median('wall_s')

    @property
    def final_loss(self) -> float:
        return self.median('final_loss')

    def to_json(self) -> dict:
        d = asdict(self)
        d.update(sec_per_epoch=_num(self.sec_per_epoch), steady=_num(self.steady),
                 wall_s=_num(self.wall_s), final_loss=_num(self.final_loss))
        return d


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else x


# ------------------------------------------------------------------ running

def run_bench(config: BenchConfig, *, imports: bool = True, reproduce: bool = True,
              import_repeats: int = 3, progress: Callable[[str], None] = lambda s: None,
              sweeps: bool = True) -> dict:
    """Everything the ``bench`` command prints and writes, as one JSON-ready dict."""
    config.validate()
    started = time.time()
    report: dict[str, Any] = {'machine': machine_info(config.backends), 'config': _config_json(config)}
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


def bench_training(config: BenchConfig, progress: Callable[[str], None] = lambda s: None) -> list:
    """Time every variant in every cell; ratios and speedups filled in from the medians."""
    from .backend import load_backend
    from .data import read_airfoil
    table = read_airfoil()[:config.n]
    X, y = np.ascontiguousarray(table[:, :-1]), np.ascontiguousarray(table[:, -1])
    results: list[Measurement] = []
    for name in config.backends:
        d2l = load_backend(name)
        for opt in config.optimizers:
            opt = opt.lower()
            for bs in config.batch_sizes:
                cell = _bench_cell(d2l, opt, bs, X, y, config, progress)
                results.extend(cell)
    add_ratios(results)
    return results


def _bench_cell(d2l: Any, opt: str, bs: int, X: np.ndarray, y: np.ndarray,
                config: BenchConfig, progress: Callable[[str], None]) -> list:
    backend = d2l.BACKEND
    epochs = config.epochs_for(bs)
    runners: dict[str, Callable] = {}
    cell = {v: Measurement(backend.name, opt, bs, v, epochs) for v in config.variants}
    warm = min(EVAL_EVERY, len(X))
    for v, m in cell.items():
        runner = _runner(d2l, v, opt, config)
        if isinstance(runner, str):
            m.note = runner
            continue
        try:        # warm-up on the first rows: kernels, lazy imports, matplotlib
            runner(X[:warm], y[:warm], min(bs, warm), 1)
        except ValueError as e:     # compile=True not offered for this path
            m.note = str(e).split(';')[0]
            continue
        runners[v] = runner
    reps = config.repeats_for(backend.name, bs)
    order, tik, r = list(runners), time.perf_counter(), 0
    while order and (r < reps or (r < config.max_repeats and reps == config.repeats
                                  and time.perf_counter() - tik < config.min_seconds)):
        for v in order:
            cell[v].samples.append(runners[v](X, y, bs, epochs))
        order = order[1:] + order[:1]       # round-robin: no variant always runs first
        r += 1
        progress(f'{backend.name} {opt} batch {bs}: round {r} ({time.perf_counter() - tik:.1f} s)')
    return list(cell.values())


def _runner(d2l: Any, variant: str, opt: str, config: BenchConfig) -> Callable | str:
    """A function (X, y, batch_size, epochs) -> Sample, or the reason the variant cannot run."""
    backend = d2l.BACKEND
    compiled = variant.endswith('_compiled')
    if variant in ('scratch', 'scratch_compiled', 'concise', 'concise_compiled'):
        if compiled and backend.name == 'torch':
            if not config.torch_compile:
                return _unavailable('torch', variant)
            backend = replace(backend, compile=_torch_compile)
        if variant.startswith('scratch'):
            return lambda X, y, bs, ep: _ours_scratch(d2l, backend, opt, X, y, bs, ep, compiled, config.seed)
        trainer, hp = BUILTIN[backend.name][opt]
        return lambda X, y, bs, ep: _ours_concise(backend, trainer, hp, X, y, bs, ep, compiled, config.seed)
    maker = FLOORS.get((backend.name, variant))
    if maker is None:
        return _unavailable(backend.name, variant)
    # made once per cell, so that a hand-written jax.jit step is compiled once, as in a
    # script, not once per timed call
    make = maker(opt)
    return lambda X, y, bs, ep: _floor_loop(make, backend.tensor, X, y, bs, ep, config.seed)


def _unavailable(backend: str, variant: str) -> str:
    if backend == 'numpy':
        return 'NumPy has no optimizer library or compiler'
    if backend == 'mxnet' and variant == 'floor_compiled':
        return 'hybridize needs Gluon blocks; a scratch loop writes p[:] = ... on plain arrays'
    if backend == 'torch':
        return 'torch.compile does not pay off here (see docs/benchmarks.md)'
    return f'no {variant} loop for {backend}'


def _steady(xs: Sequence[float], times: Sequence[float], fallback: float) -> float:
    """Seconds per epoch between the first and the last evaluation point."""
    if len(xs) >= 2 and xs[-1] > xs[0]:
        return (times[-1] - times[0]) / (xs[-1] - xs[0])
    return fallback


def _draw(animator: Any) -> None:
    """Render the run's figure once, as a notebook or ``run --out`` would."""
    animator.draw().savefig(io.BytesIO(), format='png')


def _loader(backend: Any, X: np.ndarray, y: np.ndarray, bs: int) -> Any:
    from .data import ArrayLoader
    return ArrayLoader((X, y), bs, True, backend.tensor)


def _ours_scratch(d2l: Any, backend: Any, opt: str, X, y, bs, epochs, compiled, seed) -> Sample:
    from .harness import fit_ch11
    hp = dict(HYPERPARAMS[opt])
    states = getattr(d2l, f'init_{opt}_states')(X.shape[1])
    data_iter = _loader(backend, X, y, bs)
    tik = time.perf_counter()
    run = fit_ch11(getattr(d2l, opt), states, hp, data_iter, X.shape[1], epochs,
                   backend=backend, seed=seed, compile=compiled)
    _draw(run.animator)
    wall = time.perf_counter() - tik
    return Sample(run.sec_per_epoch, _steady(run.x, run.times, run.sec_per_epoch), wall, run.final_loss)


def _ours_concise(backend: Any, trainer: str, hp: dict, X, y, bs, epochs, compiled, seed) -> Sample:
    from .harness import fit_concise_ch11
    data_iter = _loader(backend, X, y, bs)
    tik = time.perf_counter()
    run = fit_concise_ch11(trainer, dict(hp), data_iter, epochs, backend=backend, seed=seed,
                           compile=compiled)
    _draw(run.animator)
    wall = time.perf_counter() - tik
    return Sample(run.sec_per_epoch, _steady(run.x, run.times, run.sec_per_epoch), wall, run.final_loss)


def _torch_compile(fn: Callable) -> Callable:
    """What ``compile=True`` would be on PyTorch; timed only with ``--torch-compile``."""
    import torch
    return torch.compile(fn, dynamic=True)


# ------------------------------------------------------------------ the floors

def _floor_loop(make: Callable, convert: Callable, X: np.ndarray, y: np.ndarray,
                batch_size: int, epochs: int, seed: int) -> Sample:
    """A hand-written training loop with the harness's clock: same seed, same weights,
    same minibatch order, and the clock stopped for the same full-data evaluations."""
    wall = time.perf_counter()
    rng = np.random.default_rng(seed)
    w0 = rng.normal(0.0, 0.01, size=(X.shape[1], 1)).astype(np.float32)
    b0 = np.zeros(1, dtype=np.float32)
    step, weights = make(w0, b0)
    n, seen, spans, xs, losses = len(X), 0, [], [], []
    tik = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(n)
        Xs, ys = X[order], y[order]
        for i in range(0, n, batch_size):
            step(convert(Xs[i:i + batch_size]), convert(ys[i:i + batch_size]))
            seen += len(Xs[i:i + batch_size])
            if seen % EVAL_EVERY == 0:
                spans.append(time.perf_counter() - tik)
                w, b = weights()
                losses.append(float(np.mean((X @ w + b - y.reshape(-1, 1)) ** 2 / 2)))
                xs.append(seen / n)
                tik = time.perf_counter()
    if not spans:
        spans.append(time.perf_counter() - tik)
        w, b = weights()
        losses.append(float(np.mean((X @ w + b - y.reshape(-1, 1)) ** 2 / 2)))
        xs.append(float(epochs))
    times = np.cumsum(spans).tolist()
    sec = times[-1] / epochs
    return Sample(sec, _steady(xs, times, sec), time.perf_counter() - wall, losses[-1])


def _hand_update(opt: str, g, s, v, t, sqrt) -> tuple:
    """The two rules once more, written out by hand for the floors (on purpose not the
    core's code, so the floor owes it nothing): returns (step to subtract, s, v)."""
    if opt == 'rmsprop':
        gamma, lr = HYPERPARAMS[opt]['gamma'], HYPERPARAMS[opt]['lr']
        s = gamma * s + (1 - gamma) * (g * g)
        return lr * g / sqrt(s + 1e-6), s, v
    lr = HYPERPARAMS[opt]['lr']
    v = 0.9 * v + (1 - 0.9) * g
    s = 0.999 * s + (1 - 0.999) * (g * g)
    return lr * (v / (1 - 0.9 ** t)) / (sqrt(s / (1 - 0.999 ** t)) + 1e-6), s, v


def _numpy_floor(opt: str) -> Callable:
    def make(w0, b0):
        params = [w0.copy(), b0.copy()]
        s, v, t = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params], [0]

        def step(X, y):
            r = (X @ params[0] + params[1] - y.reshape(-1, 1)) / len(X)
            t[0] += 1
            for i, g in enumerate((X.T @ r, r.sum(axis=0))):
                delta, s[i], v[i] = _hand_update(opt, g, s[i], v[i], t[0], np.sqrt)
                params[i] -= delta
        return step, lambda: (params[0], params[1])
    return make


def _torch_floor(opt: str) -> Callable:
    import torch

    def make(w0, b0):
        params = [torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)]
        s, v, t = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params], [0]

        def step(X, y):
            w, b = params
            (((X @ w + b - y.reshape(-1, 1)) ** 2) / 2).mean().backward()
            t[0] += 1
            with torch.no_grad():
                for i, p in enumerate(params):
                    delta, s[i], v[i] = _hand_update(opt, p.grad, s[i], v[i], t[0], torch.sqrt)
                    p -= delta
                    p.grad = None
        return step, lambda: tuple(p.detach().numpy() for p in params)
    return make


def _torch_floor_builtin(opt: str) -> Callable:
    import torch
    trainer, hp = BUILTIN['torch'][opt]

    def make(w0, b0):
        net = torch.nn.Linear(w0.shape[0], 1)
        with torch.no_grad():
            net.weight.copy_(torch.from_numpy(w0.T.copy()))
            net.bias.copy_(torch.from_numpy(b0))
        optimizer = getattr(torch.optim, trainer)(net.parameters(), **hp)

        def step(X, y):
            optimizer.zero_grad()
            (((net(X) - y.reshape(-1, 1)) ** 2) / 2).mean().backward()
            optimizer.step()
        return step, lambda: (net.weight.detach().numpy().T, net.bias.detach().numpy())
    return make


def _tf_signature(tf: Any) -> list:
    return [tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.float32)]


def _tf_floor(opt: str, compiled: bool = False) -> Callable:
    import tensorflow as tf

    def make(w0, b0):
        params = [tf.Variable(w0), tf.Variable(b0)]
        s = [tf.Variable(tf.zeros_like(p)) for p in params]
        v = [tf.Variable(tf.zeros_like(p)) for p in params]
        # eager: a Python step count; traced: a variable, as Python ints freeze in a trace
        t = tf.Variable(0.0) if compiled else [0]

        def step(X, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(X @ params[0] + params[1] - tf.reshape(y, (-1, 1))) / 2)
            grads = tape.gradient(loss, params)
            if compiled:
                step_t = t.assign_add(1.0)
            else:
                t[0] += 1
                step_t = t[0]
            for p, g, si, vi in zip(params, grads, s, v):
                delta, s_new, v_new = _hand_update(opt, g, si, vi, step_t, tf.sqrt)
                si.assign(s_new)
                if v_new is not vi:
                    vi.assign(v_new)
                p.assign_sub(delta)
        if compiled:
            step = tf.function(step, input_signature=_tf_signature(tf), autograph=False)
        return step, lambda: (params[0].numpy(), params[1].numpy())
    return make


def _tf_floor_builtin(opt: str, compiled: bool = False) -> Callable:
    import tensorflow as tf
    trainer, hp = BUILTIN['tensorflow'][opt]
    hp = {('learning_rate' if k == 'lr' else k): val for k, val in hp.items()}

    def make(w0, b0):
        params = [tf.Variable(w0), tf.Variable(b0)]
        optimizer = getattr(tf.keras.optimizers, trainer)(**hp)

        def step(X, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(X @ params[0] + params[1] - tf.reshape(y, (-1, 1))) / 2)
            optimizer.apply_gradients(zip(tape.gradient(loss, params), params))
        if compiled:
            step = tf.function(step, input_signature=_tf_signature(tf), autograph=False)
        return step, lambda: (params[0].numpy(), params[1].numpy())
    return make


def _mxnet_floor(opt: str) -> Callable:
    from mxnet import autograd, np as mnp

    def make(w0, b0):
        params = [mnp.array(w0), mnp.array(b0)]
        for p in params:
            p.attach_grad()
        s, v, t = [mnp.zeros_like(p) for p in params], [mnp.zeros_like(p) for p in params], [0]

        def step(X, y):
            with autograd.record():
                loss = (((mnp.dot(X, params[0]) + params[1] - y.reshape(-1, 1)) ** 2) / 2).mean()
            loss.backward()
            t[0] += 1
            for i, p in enumerate(params):
                delta, s[i], v[i] = _hand_update(opt, p.grad, s[i], v[i], t[0], mnp.sqrt)
                p -= delta
        return step, lambda: (params[0].asnumpy(), params[1].asnumpy())
    return make


def _mxnet_floor_builtin(opt: str, compiled: bool = False) -> Callable:
    from mxnet import autograd, gluon, init, np as mnp
    trainer, hp = BUILTIN['mxnet'][opt]

    def make(w0, b0):
        net = gluon.nn.Dense(1, in_units=w0.shape[0])
        net.initialize(init.Zero())
        net.weight.set_data(mnp.array(w0.T))
        net.bias.set_data(mnp.array(b0))
        loss = gluon.loss.L2Loss()
        if compiled:
            net.hybridize()
            loss.hybridize()
        optimizer = gluon.Trainer(net.collect_params(), trainer, dict(hp))

        def step(X, y):
            with autograd.record():
                value = loss(net(X), y)
            value.backward()
            optimizer.step(X.shape[0])
        return step, lambda: (net.weight.data().asnumpy().T, net.bias.data().asnumpy())
    return make


def _jax_floor(opt: str, compiled: bool = False) -> Callable:
    """A hand-written JAX loop: pure step (params, s, v, t, X, y) -> new arrays, jitted or not."""
    import jax
    import jax.numpy as jnp

    def loss(params, X, y):
        return jnp.mean((X @ params[0] + params[1] - jnp.reshape(y, (-1, 1))) ** 2 / 2)

    def update(params, s, v, t, X, y):
        new = [_hand_update(opt, g, si, vi, t, jnp.sqrt)
               for g, si, vi in zip(jax.grad(loss)(params, X, y), s, v)]
        return [p - d for p, (d, _, _) in zip(params, new)], [n[1] for n in new], [n[2] for n in new]
    if compiled:
        update = jax.jit(update)

    def make(w0, b0):
        params = [jnp.asarray(w0), jnp.asarray(b0)]
        state = [params, [jnp.zeros_like(p) for p in params], [jnp.zeros_like(p) for p in params], 0]

        def step(X, y):
            state[3] += 1
            state[:3] = update(state[0], state[1], state[2], state[3], X, y)
        return step, lambda: tuple(np.asarray(p) for p in state[0])
    return make


def _jax_floor_builtin(opt: str, compiled: bool = False) -> Callable:
    """A hand-written loop with optax: grad, ``update``, ``apply_updates``, jitted or not."""
    import jax
    import jax.numpy as jnp
    import optax
    optimizer = {'rmsprop': lambda: optax.rmsprop(learning_rate=0.01, decay=0.9),
                 'adam': lambda: optax.adam(learning_rate=0.01)}[opt]()

    def loss(params, X, y):
        return jnp.mean((X @ params[0] + params[1] - jnp.reshape(y, (-1, 1))) ** 2 / 2)

    def update(params, opt_state, X, y):
        updates, opt_state = optimizer.update(jax.grad(loss)(params, X, y), opt_state, params)
        return optax.apply_updates(params, updates), opt_state
    if compiled:
        update = jax.jit(update)

    def make(w0, b0):
        params = (jnp.asarray(w0), jnp.asarray(b0))
        state = [params, optimizer.init(params)]

        def step(X, y):
            state[:] = update(state[0], state[1], X, y)
        return step, lambda: tuple(np.asarray(p) for p in state[0])
    return make


#: (backend, variant) -> opt -> make(w0, b0) -> (step(X, y), weights() -> (w, b) as NumPy)
FLOORS: dict[tuple[str, str], Callable[[str], Callable]] = {
    ('numpy', 'floor'): _numpy_floor,
    ('torch', 'floor'): _torch_floor,
    ('torch', 'floor_builtin'): _torch_floor_builtin,
    ('tensorflow', 'floor'): _tf_floor,
    ('tensorflow', 'floor_compiled'): lambda opt: _tf_floor(opt, compiled=True),
    ('tensorflow', 'floor_builtin'): _tf_floor_builtin,
    ('tensorflow', 'floor_builtin_compiled'): lambda opt: _tf_floor_builtin(opt, compiled=True),
    ('mxnet', 'floor'): _mxnet_floor,
    ('mxnet', 'floor_builtin'): _mxnet_floor_builtin,
    ('mxnet', 'floor_builtin_compiled'): lambda opt: _mxnet_floor_builtin(opt, compiled=True),
    ('jax', 'floor'): _jax_floor,
    ('jax', 'floor_compiled'): lambda opt: _jax_floor(opt, compiled=True),
    ('jax', 'floor_builtin'): _jax_floor_builtin,
    ('jax', 'floor_builtin_compiled'): lambda opt: _jax_floor_builtin(opt, compiled=True),
}


# ------------------------------------------------------------------ derived numbers

def add_ratios(measurements: Sequence[Measurement]) -> None:
    """Fill ``ratio`` (over the baseline's median sec/epoch) and ``speedup`` (eager twin's
    median over this one's) from the measured numbers, cell by cell."""
    cells: dict[tuple, dict[str, Measurement]] = {}
    for m in measurements:
        cells.setdefault((m.backend, m.optimizer, m.batch_size), {})[m.variant] = m
    for cell in cells.values():
        for v, m in cell.items():
            m.ratio = m.baseline = m.speedup = m.speedup_steady = None
            if not m.ok:
                continue
            base = BASELINE.get(v)
            if base == 'floor_builtin' and not _ok(cell, base):
                base = 'floor'          # NumPy: its concise path runs a core rule
            if base and _ok(cell, base):
                m.baseline, m.ratio = base, m.sec_per_epoch / cell[base].sec_per_epoch
            twin = EAGER.get(v)
            if twin and _ok(cell, twin):
                m.speedup = cell[twin].sec_per_epoch / m.sec_per_epoch
                m.speedup_steady = cell[twin].steady / m.steady


def _jax_jit_goal(measurements: Sequence[Measurement], variant: str) -> list[dict]:
    """Issue 15: JAX compile=True at batch 10 within 1.5x of a hand-written jitted loop."""
    rows = [m for m in measurements if m.backend == 'jax' and m.variant == variant
            and m.batch_size == 10 and m.ratio is not None]
    if not rows:
        return []
    m = max(rows, key=lambda m: m.ratio)
    what = 'train_ch11' if variant == 'scratch_compiled' else 'train_concise_ch11'
    return [{'goal': f'jax {what} compile=True vs hand-written jitted loop, batch 10',
             'target': '<= 1.5x', 'measured': f'worst {m.ratio:.2f}x ({m.optimizer})',
             'met': m.ratio <= 1.5}]


def _ok(cell: dict, variant: str) -> bool:
    return variant in cell and cell[variant].ok


def measurements_from_json(rows: Sequence[dict]) -> list[Measurement]:
    """Measurements back from a report's JSON (samples as :class:`Sample`)."""
    out = []
    for r in rows:
        fields = {k: r[k] for k in ('backend', 'optimizer', 'batch_size', 'variant', 'epochs', 'note')}
        m = Measurement(**fields, samples=[Sample(**s) for s in r['samples']])
        m.ratio, m.baseline, m.speedup = r.get('ratio'), r.get('baseline'), r.get('speedup')
        m.speedup_steady = r.get('speedup_steady')
        out.append(m)
    return out


def goals(measurements: Sequence[Measurement], imports: Sequence[dict],
          sweeps: Sequence[dict] = (), reproduce: Sequence[dict] = ()) -> list[dict]:
    """Issue 8's goals (and issue 11's sweep and reproduce goals) against the measured numbers:
    target, measured, met (None: not applicable)."""
    out: list[dict] = sweep_goals(sweeps, reproduce)

    backends = list(dict.fromkeys(m.backend for m in measurements))
    for variant, what in (('scratch', 'train_ch11 vs hand-written loop'),
                          ('concise', "train_concise_ch11 vs hand-written loop, framework's optimizer")):
        for b in backends:
            rows = [m for m in measurements if m.variant == variant and m.backend == b
                    and m.ratio is not None]
            if rows:
                geo = math.exp(statistics.fmean(math.log(m.ratio) for m in rows))
                w = max(rows, key=lambda m: m.ratio)
                out.append({'goal': f'{what} ({b})', 'target': '<= 1.2x (geometric mean over cells)',
                            'measured': f'{geo:.2f}x over {len(rows)} cells; worst {w.ratio:.2f}x '
                                        f'({w.optimizer}, batch {w.batch_size})',
                            'met': geo <= 1.2})
    for b in backends:
        for variant in ('scratch_compiled', 'concise_compiled'):
            rows = [m for m in measurements if m.backend == b and m.variant == variant
                    and m.speedup is not None]
            if b in ('tensorflow', 'jax'):
                if b == 'jax':
                    out.extend(_jax_jit_goal(measurements, variant))
                rows = [m for m in rows if m.batch_size == 10]
                if rows:
                    what = f'{b} {variant.split("_")[0]} compile=True vs eager, batch 10'
                    m = min(rows, key=lambda m: m.speedup_steady)
                    out.append({'goal': f'{what}, per epoch after the trace', 'target': '>= 5x faster',
                                'measured': f'{m.speedup_steady:.1f}x ({m.optimizer})',
                                'met': m.speedup_steady >= 5})
                    m = min(rows, key=lambda m: m.speedup)
                    reuse = ("; the warm-up run's traced program reused" if b == 'jax' else '')
                    out.append({'goal': f'{what}, whole {m.epochs}-epoch call, trace included{reuse}',
                                'target': '>= 5x faster', 'measured': f'{m.speedup:.1f}x ({m.optimizer})',
                                'met': m.speedup >= 5})
            elif b == 'torch' and not rows and variant == 'scratch_compiled':
                out.append({'goal': 'torch compile=True vs without', 'target': 'no slower',
                            'measured': 'not offered: torch.compile is slower here (see below)',
                            'met': None})
            elif rows:
                m = min(rows, key=lambda m: m.speedup)
                out.append({'goal': f'{b} {variant.split("_")[0]} compile=True vs without',
                            'target': 'no slower (<= 1.05x the time: noise)',
                            'measured': f'worst {1 / m.speedup:.2f}x the time without '
                                        f'({m.optimizer}, batch {m.batch_size})',
                            'met': 1 / m.speedup <= 1.05})
    for row in imports:
        if row['module'] == 'd2l_optim' and row.get('seconds') is not None:
            free = not row['frameworks']
            out.append({'goal': 'import d2l_optim', 'target': '< 0.3 s, no framework imported',
                        'measured': f"{row['seconds']:.3f} s, imports "
                                    f"{', '.join(row['frameworks']) or 'no framework'}",
                        'met': row['seconds'] < 0.3 and free})
    return out


# ------------------------------------------------------------------ sweeps (issue 11)

#: (backend, runs K) -> the most a K-run sweep may cost, in single ``train_ch11`` runs
SWEEP_TARGETS = {('numpy', 100): 2.0, ('numpy', 1000): 15.0, ('torch', 100): 3.0}
STUDY_TARGET_S = 10.0          # the 7 x 30 x 5 sensitivity study on NumPy
REPRODUCE_TARGET_S = 45.0      # reproduce 11.1-11.10 + 11.10+ on all four backends, idle machine


def sweep_times(backends: Sequence[str], progress: Callable[[str], None] = lambda s: None,
                repeats: int = 5, optimizer: str = 'rmsprop') -> list[dict]:
    """K-run sweeps (10 learning rates x K/10 seeds, batch 10, 2 epochs) against one
    ``fit_ch11`` run of the same rule on the same backend, medians of ``repeats`` calls in
    this process; and the wall time of the 1,050-run sensitivity study on NumPy."""
    from .backend import load_backend
    from .sections import sensitivity
    from .sections.airfoil_runs import train_scratch
    from .sweeps import SWEEP_BACKENDS, sweep

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


def sweep_goals(sweeps: Sequence[dict], reproduce: Sequence[dict] = ()) -> list[dict]:
    """Issue 11's goals from :func:`sweep_times` and :func:`reproduce_times` rows."""
    out = []
    for r in sweeps:
        if r['ratio'] is not None:
            out.append({'goal': f"{r['backend']} sweep of {r['runs']} runs vs one train_ch11 run "
                                f"({r['optimizer']}, batch 10, 2 epochs)",
                        'target': f"<= {r['target']:g}x",
                        'measured': f"{r['ratio']:.2f}x ({r['seconds']:.3f} s vs {r['single_seconds']:.3f} s)",
                        'met': r['ratio'] <= r['target']})
        else:
            out.append({'goal': f"{r['what']}: {r['runs']} runs on {r['backend']} (7 rules x 30 values x 5 seeds)",
                        'target': f"< {r['target']:g} s", 'measured': f"{r['seconds']:.2f} s",
                        'met': r['seconds'] < r['target']})
    for r in reproduce:
        if r['backend'] == ALL_BACKENDS_ROW:
            out.append({'goal': 'reproduce 11.1-11.10 + 11.10+ on all four backends (compiled where equal)',
                        'target': f'<= {REPRODUCE_TARGET_S:g} s (idle machine)',
                        'measured': f"{r['seconds']:.1f} s" + (f" ({r['error']})" if r['error'] else '')
                                    + (f", load {r['load']:.1f}" if r.get('load') is not None else ''),
                        'met': r['returncode'] == 0 and r['seconds'] <= REPRODUCE_TARGET_S})
    return out


# ------------------------------------------------------------------ imports, reproduce, machine

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
    from .backend import BACKENDS, FRAMEWORK
    rows = [import_time('d2l_optim', repeats)]
    progress('import d2l_optim')
    for b in backends:
        if b != 'numpy':
            rows.append(import_time(FRAMEWORK[b], repeats))
        rows.append(import_time(BACKENDS[b][0], repeats))
        progress(f'import {b}')
    return rows


#: the reproduce row that ran every backend in one process (the issue 11 goal)
ALL_BACKENDS_ROW = 'all four'
ALL_FOUR = {'numpy', 'torch', 'tensorflow', 'mxnet'}


def reproduce_times(backends: Sequence[str], progress: Callable[[str], None] = lambda s: None,
                    timeout: float = 1800) -> list[dict]:
    """Wall time of ``d2l-optim reproduce --backends B`` per backend, in fresh processes;
    empty when this version has no ``reproduce`` command."""
    import importlib.util
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


def _version(*dists: str) -> str | None:
    from importlib import metadata
    for d in dists:
        try:
            return metadata.version(d)
        except metadata.PackageNotFoundError:
            continue
    return None


def cpu_model(path: str = '/proc/cpuinfo') -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform reports."""
    try:
        with open(path) as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(backends: Sequence[str] = ()) -> dict:
    """Cores, CPU model, OS, Python and the library versions, without importing frameworks."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    versions = {'d2l-optim': _version('d2l-optim'), 'numpy': _version('numpy'),
                'matplotlib': _version('matplotlib')}
    dists = {'torch': ('torch',), 'tensorflow': ('tensorflow', 'tensorflow-cpu'),
             'mxnet': ('mxnet',), 'jax': ('jax',)}
    for b in backends:
        if b in dists:
            versions[b] = _version(*dists[b])
            if b == 'tensorflow':
                versions['keras'] = _version('keras')
            if b == 'jax':
                versions['jaxlib'], versions['optax'] = _version('jaxlib'), _version('optax')
    return {'cores': cores, 'cpu': cpu_model(), 'os': platform.platform(),
            'python': platform.python_version(), 'versions': versions,
            'load_average': list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
            'date': time.strftime('%Y-%m-%d %H:%M %Z')}


def merge_reports(reports: Sequence[dict]) -> dict:
    """Several ``--json`` reports as one, e.g. the NumPy 1 environment's four backends and
    the NumPy 2 environment's JAX (they cannot share one). Rows are concatenated; a row
    that two reports both have (``import d2l_optim``, a backend measured twice) is taken
    from the first. Versions that differ are shown side by side (``1.26.4 / 2.4.6``).
    Ratios and goals are derived again by the caller."""
    first = reports[0]
    merged = {**first, 'machine': {**first['machine'], 'versions': dict(first['machine']['versions'])}}
    versions = merged['machine']['versions']
    for other in reports[1:]:
        for k, v in other['machine'].get('versions', {}).items():
            if v and versions.get(k) and v not in str(versions[k]).split(' / '):
                versions[k] = f'{versions[k]} / {v}'
            elif v and not versions.get(k):
                versions[k] = v
    keys = {'measurements': lambda r: (r['backend'], r['optimizer'], r['batch_size'], r['variant']),
            'imports': lambda r: r['module'], 'sweep': lambda r: (r['what'], r['backend']),
            'reproduce': lambda r: r['backend']}
    for field_name, key in keys.items():
        seen, rows = set(), []
        for report in reports:
            for row in report.get(field_name, []):
                if key(row) not in seen:
                    seen.add(key(row))
                    rows.append(row)
        merged[field_name] = rows
    merged['config'] = {**first.get('config', {}), 'backends': list(dict.fromkeys(
        b for r in reports for b in r.get('config', {}).get('backends', [])))}
    merged['seconds'] = sum(r.get('seconds', 0.0) for r in reports)
    return merged


def _config_json(config: BenchConfig) -> dict:
    d = asdict(config)
    d['backends'], d['optimizers'] = list(config.backends), list(config.optimizers)
    d['batch_sizes'], d['variants'] = list(config.batch_sizes), list(config.variants)
    d['epochs'] = {str(bs): config.epochs_for(bs) for bs in config.batch_sizes}
    d['repeats_per_cell'] = {b: {str(bs): config.repeats_for(b, bs) for bs in config.batch_sizes}
                             for b in config.backends}
    return d

