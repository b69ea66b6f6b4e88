"""JAX pieces for 11.11: LeNet, Fashion-MNIST batches, ``train_ch6`` with a per-epoch scheduler.

``from d2l_optim.backends import jax_lenet as d2l``. Only what is JAX's is here:
LeNet from ``jax.lax`` (``conv_general_dilated``, ``reduce_window``) and
``jax.numpy``, one SGD step (``jax.value_and_grad``, optax's ``sgd``) compiled
with ``jax.jit``, the rate written into the optimizer's state
(``optax.inject_hyperparams``), and optax's schedules as the built-ins. The epoch
loop, the accuracy bookkeeping and the schedules are the core's.

JAX arrays are immutable, so "training the network in place" means the network
holds its parameters as a list of arrays and each step puts the new list there.
The step is one ``jax.jit`` function shared by every LeNet: traced once per
batch shape (a short last batch once, not every epoch), counted in :data:`TRACES`.
The initial weights are Xavier-uniform from a seeded NumPy generator, as on the
NumPy backend: each ``jax.random`` draw compiles for its shape (about a second
per layer on a small CPU, 12 s for LeNet jitted), for the same distribution.

An optax schedule is a pure function of a step count, as ours are: given as
``scheduler=``, it is called once per epoch with the epoch ``t``. Given as an
optimizer's ``learning_rate``, optax would call it at every *update* (per
minibatch, the book's MXNet bug), so such a ``trainer=`` is refused.
"""
from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from d2l_optim import classify, fashion_mnist
from d2l_optim.classify import Accumulator, ClassifyBackend, accuracy
from d2l_optim.fashion_mnist import get_fashion_mnist_labels
from d2l_optim.schedulers import (CosineScheduler, FactorScheduler, MultiFactorScheduler,
                                  SquareRootScheduler)

__all__ = ['LeNet', 'Sequential', 'Conv2D', 'ReLU', 'MaxPool2D', 'Flatten', 'Dense', 'TRACES',
           'try_gpu', 'accuracy', 'Accumulator', 'evaluate_accuracy_gpu', 'load_data_fashion_mnist',
           'get_fashion_mnist_labels', 'train_ch6', 'fit_ch6', 'builtin_scheduler',
           'SquareRootScheduler', 'FactorScheduler', 'MultiFactorScheduler', 'CosineScheduler']

#: how often each compiled function was traced (its Python body runs only while tracing)
TRACES: Counter = Counter()
_WEIGHTS = classify.WeightRNG()      # initial weights; fit_ch6(seed=...) restarts it


def try_gpu(i: int = 0) -> Any:
    """GPU ``i`` if JAX has one, else the CPU (``str()`` gives ``cpu:0``)."""
    gpus = [d for d in jax.devices() if d.platform == 'gpu']
    return gpus[i] if len(gpus) >= i + 1 else jax.devices('cpu')[0]


# ------------------------------------------------------------------ the network

@dataclass(frozen=True)
class Conv2D:
    """A 2-D convolution on (n, C, H, W) batches, weights (out, in, k, k), stride 1."""
    in_channels: int
    out_channels: int
    kernel_size: int
    padding: int = 0

    def init(self, rng: np.random.Generator) -> list:
        k = self.kernel_size
        w = _xavier(rng, (self.out_channels, self.in_channels, k, k),
                    self.in_channels * k * k, self.out_channels * k * k)
        return [w, jnp.zeros(self.out_channels, jnp.float32)]

    def __call__(self, params: list, X: jax.Array) -> jax.Array:
        w, b = params
        p = self.padding
        y = lax.conv_general_dilated(X, w, window_strides=(1, 1), padding=((p, p), (p, p)),
                                     dimension_numbers=('NCHW', 'OIHW', 'NCHW'))
        return y + b[None, :, None, None]


@dataclass(frozen=True)
class ReLU:
    def init(self, rng: np.random.Generator) -> list:
        return []

    def __call__(self, params: list, X: jax.Array) -> jax.Array:
        return jnp.maximum(X, 0)


@dataclass(frozen=True)
class MaxPool2D:
    """Max over ``pool_size`` x ``pool_size`` windows every ``strides`` pixels (no padding)."""
    pool_size: int = 2
    strides: int = 2

    def init(self, rng: np.random.Generator) -> list:
        return []

    def __call__(self, params: list, X: jax.Array) -> jax.Array:
        k, s = self.pool_size, self.strides
        return lax.reduce_window(X, -jnp.inf, lax.max, (1, 1, k, k), (1, 1, s, s), 'VALID')


@dataclass(frozen=True)
class Flatten:
    def init(self, rng: np.random.Generator) -> list:
        return []

    def __call__(self, params: list, X: jax.Array) -> jax.Array:
        return X.reshape(X.shape[0], -1)


@dataclass(frozen=True)
class Dense:
    """``X @ W + b`` with W of shape (in_features, out_features)."""
    in_features: int
    out_features: int

    def init(self, rng: np.random.Generator) -> list:
        w = _xavier(rng, (self.in_features, self.out_features), self.in_features, self.out_features)
        return [w, jnp.zeros(self.out_features, jnp.float32)]

    def __call__(self, params: list, X: jax.Array) -> jax.Array:
        w, b = params
        return X @ w + b


def _forward(layers: tuple, params: list, X: jax.Array) -> jax.Array:
    for layer, p in zip(layers, params):
        X = layer(p, X)
    return X


@functools.partial(jax.jit, static_argnums=0)
def _logits(layers: tuple, params: list, X: jax.Array) -> jax.Array:
    TRACES['predict'] += 1
    return _forward(layers, params, X)


class Sequential:
    """Layers applied in order; ``params`` holds one list of arrays per layer (the network's
    state: JAX arrays are immutable, so training replaces the list). ``net(X)`` gives logits."""

    def __init__(self, *layers: Any) -> None:
        self.layers = tuple(layers)
        self.initialize()

    def initialize(self, seed: int | np.random.Generator | None = None) -> None:
        """Xavier-uniform weights, zero biases, drawn from ``seed`` (default: the stream that
        ``fit_ch6(seed=...)`` restarts)."""
        rng = _WEIGHTS.rng if seed is None else np.random.default_rng(seed)
        self.params = [layer.init(rng) for layer in self.layers]

    def __call__(self, X: Any) -> jax.Array:
        return _logits(self.layers, self.params, X)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        return 'Sequential(\n' + ''.join(f'  {layer},\n' for layer in self.layers) + ')'


def LeNet() -> Sequential:
    """LeNet-5 as the book's text describes it: ReLU activations and max-pooling, 28 x 28 inputs."""
    return Sequential(
        Conv2D(1, 6, kernel_size=5, padding=2), ReLU(), MaxPool2D(pool_size=2, strides=2),
        Conv2D(6, 16, kernel_size=5), ReLU(), MaxPool2D(pool_size=2, strides=2),
        Flatten(),
        Dense(16 * 5 * 5, 120), ReLU(),
        Dense(120, 84), ReLU(),
        Dense(84, 10))


def _xavier(rng: np.random.Generator, shape: tuple, fan_in: int, fan_out: int) -> jax.Array:
    """Xavier-uniform weights: uniform in +-sqrt(6 / (fan_in + fan_out)), float32."""
    bound = np.sqrt(6 / (fan_in + fan_out))
    return jnp.asarray(rng.uniform(-bound, bound, shape).astype(np.float32))


# ------------------------------------------------------------------ data and evaluation

def evaluate_accuracy_gpu(net: Sequential, data_iter: Any, device: Any = None) -> float:
    """Test accuracy of ``net``, batches moved to ``device`` if one is given."""
    if device is None:
        return classify.evaluate_accuracy(net, data_iter)
    return classify.evaluate_accuracy(lambda X: _logits(net.layers, jax.device_put(net.params, device),
                                                        jax.device_put(X, device)), data_iter)


def load_data_fashion_mnist(batch_size: int, resize: Any = None, *, path: Any = None,
                            seed: int | None = None, arrays: Any = None) -> tuple[Any, Any]:
    """Fashion-MNIST as ``(train_iter, test_iter)`` of float32 (n, 1, H, W) images and int32 labels."""
    return fashion_mnist.load_data_fashion_mnist(
        batch_size, resize, to_images=jnp.asarray, to_labels=lambda a: jnp.asarray(a, dtype=jnp.int32),
        path=path, arrays=arrays, rng=np.random.default_rng(seed))


# ------------------------------------------------------------------ training

#: the default optimizer: SGD whose rate lives in its state, so set_lr writes it there
_SGD = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _train_step(layers: tuple, opt: Any, params: list, opt_state: Any, X: jax.Array, y: jax.Array):
    """One minibatch: mean cross-entropy, its gradient, optax's update. Returns the new
    parameters and optimizer state, the loss and the logits."""
    TRACES['train_step'] += 1

    def loss_of(ps):
        y_hat = _forward(layers, ps, X)
        return optax.softmax_cross_entropy_with_integer_labels(y_hat, y).mean(), y_hat
    (loss, y_hat), grads = jax.value_and_grad(loss_of, has_aux=True)(params)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss, y_hat


class _Classifier:
    """A network with an optax optimizer; the rate is ``opt_state.hyperparams['learning_rate']``."""

    def __init__(self, net: Any, lr: float, device: Any, trainer: Any = None) -> None:
        if not isinstance(net, Sequential):
            raise ValueError(f"the jax backend trains a d2l.Sequential such as d2l.LeNet(), "
                             f"got {type(net).__name__}")
        net.initialize()
        self.device = device
        self._put = device != jax.devices()[0]       # committed arrays only off the default device
        self.net, self.opt = net, trainer if trainer is not None else _SGD
        if self._put:
            net.params = jax.device_put(net.params, device)
        self.opt_state = self.opt.init(net.params)
        hyperparams = getattr(self.opt_state, 'hyperparams', None)
        if not isinstance(hyperparams, dict) or 'learning_rate' not in hyperparams:
            raise ValueError("the trainer's learning rate cannot be read or set per epoch: build it with "
                             "optax.inject_hyperparams, e.g. optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)")
        if 'learning_rate' in getattr(self.opt_state, 'hyperparams_states', {}):
            raise ValueError("the trainer's learning_rate is a schedule, which optax calls at every update "
                             "(per minibatch); build it with a number, e.g. optax.inject_hyperparams("
                             "optax.sgd)(learning_rate=0.1), and pass the schedule as scheduler=")
        if trainer is None:
            self.set_lr(lr)

    def train_step(self, X, y):
        if self._put:
            X, y = jax.device_put(X, self.device), jax.device_put(y, self.device)
        self.net.params, self.opt_state, loss, y_hat = _train_step(
            self.net.layers, self.opt, self.net.params, self.opt_state, X, y)
        return loss, y_hat

    def predict(self, X):
        return _logits(self.net.layers, self.net.params, jax.device_put(X, self.device) if self._put else X)

    def get_lr(self) -> float:
        return float(self.opt_state.hyperparams['learning_rate'])

    def set_lr(self, lr: float) -> None:
        # the same dtype and weak type as before, so the jitted step is not traced again
        old = self.opt_state.hyperparams['learning_rate']
        self.opt_state.hyperparams['learning_rate'] = jnp.full_like(old, lr)


def builtin_scheduler(scheduler: Any) -> Any:
    """One of our schedulers as optax's own schedule, a function of the step count ``t``.

    Multi-factor is ``piecewise_constant_schedule`` (it scales *at* each boundary, as
    ours); factor is ``exponential_decay`` from ``base_lr * factor`` with ``end_value``
    as the floor; cosine is ``cosine_decay_schedule``, or with a warm-up
    ``warmup_cosine_decay_schedule`` (its ``decay_steps`` counts the warm-up, as our
    ``max_update`` does); both hold the final rate after ``max_update``. optax has no
    square-root schedule: that one is ours, which is already a function of ``t``.
    """
    if isinstance(scheduler, MultiFactorScheduler):
        return optax.piecewise_constant_schedule(scheduler.base_lr, {s: scheduler.factor for s in scheduler.step})
    if isinstance(scheduler, FactorScheduler):
        return optax.exponential_decay(scheduler.base_lr * scheduler.factor, transition_steps=1,
                                       decay_rate=scheduler.factor, end_value=scheduler.stop_factor_lr)
    if isinstance(scheduler, CosineScheduler):
        if scheduler.warmup_steps:
            return optax.warmup_cosine_decay_schedule(
                scheduler.warmup_begin_lr, scheduler.base_lr, scheduler.warmup_steps,
                scheduler.max_update, end_value=scheduler.final_lr)
        return optax.cosine_decay_schedule(scheduler.base_lr, scheduler.max_update,
                                           alpha=scheduler.final_lr / scheduler.base_lr)
    if isinstance(scheduler, SquareRootScheduler):
        return scheduler
    raise classify.no_builtin(scheduler)


def _builtin(scheduler: Any, model: _Classifier) -> classify.EpochHook:
    schedule = builtin_scheduler(scheduler)
    return lambda t: float(schedule(t))        # optax's are float32 JAX scalars


# ours, a learner's, or an optax schedule: all pure in t, so any callable is called as is
CLASSIFY = ClassifyBackend(name='jax', classifier=_Classifier, default_device=try_gpu, builtin=_builtin,
                           seed=_WEIGHTS.seed, net=LeNet, schedulers=', ours or an optax schedule')
fit_ch6, train_ch6 = classify.book_functions(CLASSIFY)
