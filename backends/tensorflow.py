"""TensorFlow backend: ``from d2l_optim.backends import tensorflow as d2l``.

TensorFlow's quirks, and only those: parameters and optimizer states are
``tf.Variable``s written with ``assign``; gradients come from a
``tf.GradientTape`` and are passed as a separate list, so the book's optimizers
take ``(params, grads, states, hyperparams)``. The built-in path uses Keras 3
optimizers, which only know ``learning_rate``: the book-era ``lr`` is renamed.
"""
from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from d2l_optim.quiet_import import quiet_import

# No C++ start-up lines (CPU features, oneDNN) in a learner's output, unless the user asked for
# them: the log level hides the CPU-feature notice; quiet_import keeps absl's and oneDNN's
# notices (printed at import whatever the level says) off descriptor 2, and shows everything
# written during a failed import.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# TensorFlow's TFLite helpers import JAX when it is installed (an optional converter path,
# guarded by ImportError); this backend never uses it, and importing one backend must not
# load another framework. Already imported, JAX is left as it is.
_block_jax = 'jax' not in sys.modules
if _block_jax:
    sys.modules['jax'] = None       # type: ignore[assignment]  # "import jax" -> ImportError
try:
    tf = quiet_import('tensorflow')
finally:
    if _block_jax:
        del sys.modules['jax']
from absl import logging as absl_logging  # noqa: E402  (installed with TensorFlow)

absl_logging.set_verbosity(absl_logging.ERROR)

from d2l_optim import airfoil, data  # noqa: E402
from d2l_optim.backend import Backend  # noqa: E402
from d2l_optim.book_api import book_api  # noqa: E402


def _reshape(a: Any, shape: Any) -> tf.Tensor:
    """``tf.reshape`` that also takes a traced shape with an unknown batch axis, (None, 1)."""
    if isinstance(shape, tf.TensorShape) and not shape.is_fully_defined():
        shape = [-1 if d is None else d for d in shape]
    return tf.reshape(a, shape)


xp = SimpleNamespace(sqrt=tf.sqrt, sign=tf.sign, zeros_like=tf.zeros_like,
                     matmul=tf.matmul, reshape=_reshape, mean=tf.reduce_mean)


def _tensor(a: Any) -> tf.Tensor:
    return tf.convert_to_tensor(np.asarray(a, dtype=np.float32))


def _assign(target: tf.Variable, value: Any) -> None:
    target.assign(value)


def _gradients(loss_fn: Callable[[], tf.Tensor], params: list, analytic: Callable) -> list:
    with tf.GradientTape() as tape:
        loss = loss_fn()
    return tape.gradient(loss, params)


def _optimizer_class(trainer: Any) -> type:
    """A ``tf.keras.optimizers`` class, or its name in any case (``'rmsprop'`` -> ``RMSprop``)."""
    if not isinstance(trainer, str):
        return trainer
    base = tf.keras.optimizers.Optimizer
    classes = {n.lower(): c for n, c in vars(tf.keras.optimizers).items()
               if isinstance(c, type) and issubclass(c, base) and c is not base}
    if trainer.lower() not in classes:
        raise ValueError(f"unknown tf.keras.optimizers optimizer {trainer!r}; choose one of: "
                         f"{', '.join(sorted(c.__name__ for c in classes.values()))}")
    return classes[trainer.lower()]


def keras_hyperparams(hyperparams: dict) -> dict:
    """The book's hyperparameters in Keras 3 names (``lr`` -> ``learning_rate``)."""
    hp = dict(hyperparams)
    if 'lr' in hp:
        if 'learning_rate' in hp:
            raise ValueError(f"give either lr or learning_rate, not both: {hyperparams}")
        hp['learning_rate'] = hp.pop('lr')
    return hp


def _concise(trainer: Any, hyperparams: dict, w0: np.ndarray, b0: np.ndarray):
    """The model as two variables trained by ``trainer(**hyperparams)`` (a Keras optimizer).

    The loss is the core's 1/2 (y_hat - y)^2, not ``MeanSquaredError``, so gradients
    match the scratch code (the book's TensorFlow tab has them twice as large).
    """
    optimizer = _optimizer_class(trainer)(**keras_hyperparams(hyperparams))
    params = [tf.Variable(w0), tf.Variable(b0)]
    optimizer.build(params)     # slots made eagerly, so compile=True's trace only updates them
    net = lambda X: airfoil.linreg(X, params[0], params[1], xp)  # noqa: E731

    def step(X: tf.Tensor, y: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(airfoil.squared_loss(net(X), y, xp))
        optimizer.apply_gradients(zip(tape.gradient(loss, params), params))
    return step, net


def _compile(fn: Callable) -> Callable:
    """``compile=True``: ``fn`` traced once by ``tf.function``. Batches enter with an unknown
    first axis (a short last batch does not retrace), Python numbers as float32 scalars
    (so the step count t does not retrace either). Steps call the traced concrete function
    directly: half the per-call cost of ``tf.function``'s dispatch (0.13 vs 0.29 ms here)."""
    traced: list = []

    def call(*args):
        args = [tf.constant(a, tf.float32) if isinstance(a, (int, float, np.number)) else a
                for a in args]
        if not traced:
            spec = [tf.TensorSpec([None, *a.shape[1:]] if a.shape.rank else [], a.dtype) for a in args]
            traced.append(tf.function(fn, input_signature=spec, autograph=False).get_concrete_function())
        return traced[0](*args)
    return call


def load_array(arrays, batch_size: int, is_train: bool = True) -> tf.data.Dataset:
    """The book's ``load_array`` as a ``tf.data.Dataset``; the shuffle buffer holds the
    whole data set (the book's 1000 leaves the last 500 airfoil rows near the end)."""
    data.check_finite([np.asarray(a) for a in arrays])      # NaN: a data problem, named
    dataset = tf.data.Dataset.from_tensor_slices(tuple(arrays))
    if is_train:
        dataset = dataset.shuffle(buffer_size=int(dataset.cardinality()))
    return dataset.batch(batch_size)


_backend = Backend(
    name='tensorflow', xp=xp, tensor=_tensor,
    parameter=lambda a: tf.Variable(np.asarray(a, dtype=np.float32)),
    state=lambda a: tf.Variable(np.asarray(a, dtype=np.float32)),
    assign=_assign, gradients=_gradients, concise=_concise, compile=_compile,
    extras={
        'load_array': load_array,
        'arange': tf.range, 'zeros': tf.zeros, 'tensor': tf.constant,
        'normal': tf.random.normal, 'numpy': lambda x, *a, **k: x.numpy(*a, **k),
        'meshgrid': tf.meshgrid, 'linspace': tf.linspace, 'sin': tf.sin, 'cos': tf.cos,
        'sinh': tf.sinh, 'cosh': tf.cosh, 'tanh': tf.tanh, 'exp': tf.exp,
    },
)

globals().update(book_api(_backend))

# 11.11: LeNet, Fashion-MNIST and the train_ch6 names (kept in their own module).
from d2l_optim.backends.tensorflow_lenet import *  # noqa: E402,F401,F403
