"""The floors: a minimal hand-written training loop per framework, the update rule inline.

Each floor uses the harness's clock (same seed, so the same initial weights and minibatch
order, and the clock stopped for the same full-data evaluation every 200 examples), so its
loss matches ours and a ratio measures only our overhead. :data:`FLOORS` maps
``(backend, variant)`` to a maker; frameworks are imported inside the makers.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ..airfoil import EVAL_EVERY, init_weights, linreg, linreg_gradients, squared_loss
from .config import BUILTIN, HYPERPARAMS
from .results import Sample, steady_per_epoch


def floor_loop(make: Callable, convert: Callable, X: np.ndarray, y: np.ndarray,
                batch_size: int, epochs: int, seed: int) -> Sample:
    """A hand-written training loop with the harness's clock: same seed, same weights,
    same minibatch order, and the clock stopped for the same full-data evaluations."""
    wall = time.perf_counter()
    rng = np.random.default_rng(seed)      # the weights, then every epoch's order, as in the harness
    w0, b0 = init_weights(X.shape[1], rng)
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
                losses.append(float(np.mean(squared_loss(linreg(X, w, b, np), y, np))))
                xs.append(seen / n)
                tik = time.perf_counter()
    if not spans:
        spans.append(time.perf_counter() - tik)
        w, b = weights()
        losses.append(float(np.mean(squared_loss(linreg(X, w, b, np), y, np))))
        xs.append(float(epochs))
    times = np.cumsum(spans).tolist()
    sec = times[-1] / epochs
    return Sample(sec, steady_per_epoch(xs, times, sec), time.perf_counter() - wall, losses[-1])


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
            t[0] += 1
            for i, g in enumerate(linreg_gradients(X, y, *params)):
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
