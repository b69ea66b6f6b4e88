"""TensorFlow pieces for 11.11: LeNet, Fashion-MNIST batches, ``train_ch6``, ``TrainCallback``.

``from d2l_optim.backends import tensorflow_lenet as d2l``. Only what is
TensorFlow's is here: a Keras LeNet, one SGD step under a ``GradientTape``
(compiled with ``tf.function``), the optimizer's ``learning_rate`` variable, and
Keras' ``LearningRateScheduler`` callback. The epoch loop and the schedules are
the core's.

LeNet follows the book's text (ReLU, max-pooling), not the book's TensorFlow
code, which uses average pooling and a sigmoid layer. ``net`` may be a Keras
model or, as in the book's TensorFlow tab, a function that builds one.
A ``LearningRateScheduler`` callback is run at the start of epoch ``t`` with
``t``, exactly as ``model.fit`` runs it, so epoch ``t`` trains at ``schedule(t)``.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')     # no C++ start-up banner in the learner's output
from d2l_optim.quiet_import import quiet_import  # noqa: E402

tf = quiet_import('tensorflow')     # without TensorFlow's absl/oneDNN start-up lines

from d2l_optim import classify, fashion_mnist  # noqa: E402
from d2l_optim.classify import Accumulator, ClassifyBackend, accuracy  # noqa: E402
from d2l_optim.fashion_mnist import get_fashion_mnist_labels  # noqa: E402
from d2l_optim.plotting import Animator, Timer  # noqa: E402
from d2l_optim.schedulers import (CosineScheduler, FactorScheduler, MultiFactorScheduler,  # noqa: E402
                                  SquareRootScheduler)

keras = tf.keras

__all__ = ['LeNet', 'try_gpu', 'accuracy', 'Accumulator', 'evaluate_accuracy_gpu',
           'load_data_fashion_mnist', 'get_fashion_mnist_labels', 'train_ch6', 'fit_ch6',
           'TrainCallback', 'builtin_scheduler', 'keras_schedule', 'SquareRootScheduler',
           'FactorScheduler', 'MultiFactorScheduler', 'CosineScheduler']


def try_gpu(i: int = 0) -> Any:
    """``tf.device`` of GPU ``i`` if there is one, else of the CPU (``._device_name`` as in the book)."""
    if len(tf.config.list_physical_devices('GPU')) >= i + 1:
        return tf.device(f'/GPU:{i}')
    return tf.device('/CPU:0')


def _device_name(device: Any) -> str:
    return getattr(device, '_device_name', None) or str(device)


def LeNet() -> keras.Model:
    """LeNet-5 as the book's text describes it: ReLU activations and max-pooling, 28 x 28 inputs.

    Keras' default initializers are Xavier-uniform weights and zero biases, as on the other backends.
    """
    layers = keras.layers
    return keras.Sequential([
        layers.Conv2D(6, kernel_size=5, padding='same', activation='relu'),
        layers.MaxPool2D(pool_size=2, strides=2),
        layers.Conv2D(16, kernel_size=5, activation='relu'),
        layers.MaxPool2D(pool_size=2, strides=2),
        layers.Flatten(),
        layers.Dense(120, activation='relu'),
        layers.Dense(84, activation='relu'),
        layers.Dense(10)])


def evaluate_accuracy_gpu(net: Any, data_iter: Any, device: Any = None) -> float:
    """Test accuracy of ``net`` in inference mode (``training=False``)."""
    return classify.evaluate_accuracy(lambda X: net(X, training=False), data_iter)


def load_data_fashion_mnist(batch_size: int, resize: Any = None, *, path: Any = None,
                            seed: int | None = None, arrays: Any = None) -> tuple[Any, Any]:
    """Fashion-MNIST as two ``tf.data.Dataset`` of float32 (n, H, W, 1) images and int64 labels.

    Batches come from the core's loader (reshuffled on each pass, so ``model.fit``
    works too); ``len()`` gives the number of batches.
    """
    loaders = fashion_mnist.load_data_fashion_mnist(
        batch_size, resize, to_images=lambda a: a.transpose(0, 2, 3, 1), to_labels=lambda a: a,
        path=path, arrays=arrays, rng=np.random.default_rng(seed))
    return tuple(_dataset(loader) for loader in loaders)


def _dataset(loader: Any) -> tf.data.Dataset:
    X, _ = next(iter(loader))
    spec = (tf.TensorSpec((None,) + X.shape[1:], tf.float32), tf.TensorSpec((None,), tf.int64))
    ds = tf.data.Dataset.from_generator(lambda: iter(loader), output_signature=spec)
    return ds.apply(tf.data.experimental.assert_cardinality(len(loader)))


class _Classifier:
    """A Keras network with a Keras SGD optimizer; the step is one compiled ``tf.function``."""

    def __init__(self, net: Any, lr: float, device: Any, trainer: Any = None) -> None:
        self.device = _device_name(device)
        with tf.device(self.device):
            self.net = net if isinstance(net, keras.Model) else net()
            self.opt = trainer if trainer is not None else keras.optimizers.SGD(learning_rate=lr)
            self.loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            # compile only attaches the optimizer, so Keras callbacks and model.fit find it
            self.net.compile(optimizer=self.opt, loss=self.loss, metrics=['accuracy'])
        self._built = False
        self._step = tf.function(self._train_step, reduce_retracing=True)
        self._predict = tf.function(lambda X: self.net(X, training=False), reduce_retracing=True)

    def _train_step(self, X, y):
        with tf.GradientTape() as tape:
            y_hat = self.net(X, training=True)
            loss = self.loss(y, y_hat)
        params = self.net.trainable_variables
        self.opt.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss, y_hat

    def train_step(self, X, y):
        with tf.device(self.device):
            if not self._built:        # variables are made eagerly, before tracing
                self.net(X[:1])
                self.opt.build(self.net.trainable_variables)
                self._built = True
            return self._step(X, y)

    def predict(self, X):
        with tf.device(self.device):
            return self._predict(X)

    def get_lr(self) -> float:
        return float(keras.ops.convert_to_numpy(self.opt.learning_rate))

    def set_lr(self, lr: float) -> None:
        self.opt.learning_rate = lr          # assigns the variable; the compiled step reads it


def keras_schedule(scheduler: Any) -> Any:
    """One of our schedulers as Keras' own ``LearningRateSchedule`` where one has the formula.

    Multi-factor is ``PiecewiseConstantDecay`` (boundaries one below our steps: Keras
    switches *after* a boundary); cosine is ``CosineDecay`` with its linear warm-up,
    which holds the final rate after ``decay_steps``; factor is ``ExponentialDecay``
    with the ``stop_factor_lr`` floor applied on top. Square root has no Keras form
    and is ours.
    """
    schedules = keras.optimizers.schedules
    if isinstance(scheduler, MultiFactorScheduler):
        values = [scheduler.base_lr * scheduler.factor ** k for k in range(len(scheduler.step) + 1)]
        return schedules.PiecewiseConstantDecay([s - 1 for s in scheduler.step], values)
    if isinstance(scheduler, CosineScheduler):
        w = scheduler.warmup_steps
        return schedules.CosineDecay(
            initial_learning_rate=scheduler.warmup_begin_lr if w else scheduler.base_lr,
            decay_steps=scheduler.max_update - w, alpha=scheduler.final_lr / scheduler.base_lr,
            warmup_target=scheduler.base_lr if w else None, warmup_steps=w)
    if isinstance(scheduler, FactorScheduler):
        decay = schedules.ExponentialDecay(scheduler.base_lr * scheduler.factor, 1, scheduler.factor)
        return lambda t: max(scheduler.stop_factor_lr, float(decay(t)))
    if isinstance(scheduler, SquareRootScheduler):
        return scheduler
    raise classify.no_builtin(scheduler)


def builtin_scheduler(scheduler: Any) -> keras.callbacks.LearningRateScheduler:
    """One of our schedulers as a Keras ``LearningRateScheduler`` callback over :func:`keras_schedule`."""
    schedule = keras_schedule(scheduler)
    return keras.callbacks.LearningRateScheduler(lambda epoch: float(schedule(epoch)))


def _stateful(scheduler: Any, model: _Classifier) -> Any:
    if not isinstance(scheduler, keras.callbacks.Callback):
        return None
    if not hasattr(scheduler, 'on_epoch_begin'):
        raise ValueError(f"{type(scheduler).__name__} has no on_epoch_begin")
    scheduler.set_model(model.net)

    def at_epoch(t: int) -> float:
        scheduler.on_epoch_begin(t)        # what model.fit does before epoch t
        return model.get_lr()
    return at_epoch


class TrainCallback(keras.callbacks.Callback):
    """The book's Keras callback for ``model.fit``: animates loss and accuracies, prints the two lines."""

    def __init__(self, net: Any, train_iter: Any, test_iter: Any, num_epochs: int, device_name: Any) -> None:
        super().__init__()
        self.timer = Timer()
        self.animator = Animator(xlabel='epoch', xlim=[1, num_epochs],
                                 legend=['train loss', 'train acc', 'test acc'])
        self.net, self.train_iter, self.test_iter = net, train_iter, test_iter
        self.num_epochs, self.device_name = num_epochs, device_name

    def on_epoch_begin(self, epoch, logs=None):
        self.timer.start()

    def on_epoch_end(self, epoch, logs=None):
        self.timer.stop()
        logs = logs or {}
        test_acc = evaluate_accuracy_gpu(self.net, self.test_iter)
        acc = logs.get('accuracy', logs.get('sparse_categorical_accuracy', float('nan')))
        metrics = (float(logs.get('loss', float('nan'))), float(acc), test_acc)
        self.animator.add(epoch + 1, metrics)
        if epoch == self.num_epochs - 1:
            self.animator.finish()
            X, _ = next(iter(self.train_iter))
            num_examples = int(X.shape[0]) * int(tf.data.experimental.cardinality(self.train_iter))
            print(f'loss {metrics[0]:.3f}, train acc {metrics[1]:.3f}, test acc {metrics[2]:.3f}')
            print(f'{num_examples / self.timer.avg():.1f} examples/sec on {_device_name(self.device_name)}')


CLASSIFY = ClassifyBackend(name='tensorflow', classifier=_Classifier, default_device=try_gpu,
                           builtin=lambda scheduler, model: builtin_scheduler(scheduler),
                           seed=keras.utils.set_random_seed, net=lambda: LeNet, stateful=_stateful,
                           schedulers=' or a Keras LearningRateScheduler callback')
fit_ch6, train_ch6 = classify.book_functions(CLASSIFY)
