"""MXNet pieces for 11.11: LeNet, Fashion-MNIST batches, ``train_ch6`` with a per-epoch scheduler.

``from d2l_optim.backends import mxnet_lenet as d2l``. Only what is MXNet's is
here: a Gluon LeNet, one step (``autograd.record``, ``backward``,
``trainer.step(batch_size)``), ``trainer.set_learning_rate`` and
``mxnet.lr_scheduler``. The epoch loop and the schedules are the core's.

The book's MXNet tab hands its scheduler to the Gluon ``Trainer``, which calls it
once per *update*: with 235 minibatches an epoch, the whole 20-step cosine is over
after a tenth of the first epoch. Here a scheduler, ours or MXNet's, is called
once per epoch with the epoch index ``t``, and a scheduler found attached to a
learner's ``Trainer`` is detached and driven the same way.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy

from d2l_optim.backend import BackendUnavailable

if sys.version_info >= (3, 13) or int(numpy.__version__.split('.')[0]) >= 2:
    raise BackendUnavailable(
        f"the MXNet backend cannot run here (Python {sys.version_info[0]}.{sys.version_info[1]}, numpy "
        f"{numpy.__version__}); mxnet 1.9.1 needs Python 3.10-3.12 with numpy < 2: "
        f'pip install "d2l-optim[mxnet]"')
# mxnet 1.9.1 reads numpy.bool, which NumPy 1.24 removed; it is numpy.bool_ (apache/mxnet#21165).
if 'bool' not in vars(numpy):
    numpy.bool = numpy.bool_  # type: ignore[attr-defined]
try:
    import mxnet as mx
    from mxnet import autograd, gluon, init, npx
    from mxnet import np as mnp
except Exception as e:  # missing, or broken (e.g. no distutils on 3.12 without setuptools)
    raise BackendUnavailable(f"importing mxnet failed with {type(e).__name__}: {e}; "
                             f'install it with: pip install "d2l-optim[mxnet]"') from e

from d2l_optim import classify, fashion_mnist  # noqa: E402
from d2l_optim.classify import Accumulator, ClassifyBackend, accuracy  # noqa: E402
from d2l_optim.fashion_mnist import get_fashion_mnist_labels  # noqa: E402
from d2l_optim.schedulers import (CosineScheduler, FactorScheduler, MultiFactorScheduler,  # noqa: E402
                                  SquareRootScheduler)

npx.set_np()

__all__ = ['LeNet', 'try_gpu', 'accuracy', 'Accumulator', 'evaluate_accuracy_gpu',
           'load_data_fashion_mnist', 'get_fashion_mnist_labels', 'train_ch6', 'fit_ch6',
           'builtin_scheduler', 'SquareRootScheduler', 'FactorScheduler', 'MultiFactorScheduler',
           'CosineScheduler']


def try_gpu(i: int = 0) -> Any:
    """GPU ``i`` if there is one, else the CPU."""
    return mx.gpu(i) if npx.num_gpus() >= i + 1 else mx.cpu()


def LeNet() -> gluon.nn.HybridSequential:
    """LeNet-5 as the book's text describes it: ReLU activations and max-pooling, 28 x 28 inputs."""
    nn = gluon.nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, kernel_size=5, padding=2, activation='relu'),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(16, kernel_size=5, activation='relu'),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Dense(120, activation='relu'),     # Dense flattens its input
            nn.Dense(84, activation='relu'),
            nn.Dense(10))
    return net


def _device_of(net: Any) -> Any:
    return list(net.collect_params().values())[0].list_ctx()[0]


def evaluate_accuracy_gpu(net: Any, data_iter: Any, device: Any = None) -> float:
    """Test accuracy of ``net``, batches moved to ``device`` (default: where the net lives)."""
    device = device or _device_of(net)
    return classify.evaluate_accuracy(lambda X: net(X.as_in_ctx(device)), data_iter)


def load_data_fashion_mnist(batch_size: int, resize: Any = None, *, path: Any = None,
                            seed: int | None = None, arrays: Any = None) -> tuple[Any, Any]:
    """Fashion-MNIST as ``(train_iter, test_iter)`` of float32 (n, 1, H, W) images and int32 labels."""
    return fashion_mnist.load_data_fashion_mnist(
        batch_size, resize, to_images=mnp.array, to_labels=lambda a: mnp.array(a, dtype='int32'),
        path=path, arrays=arrays, rng=numpy.random.default_rng(seed))


class _Classifier:
    """A Gluon network and ``Trainer``; ``step(batch_size)`` turns the summed gradient into a mean."""

    def __init__(self, net: Any, lr: float, device: Any, trainer: Any = None) -> None:
        net.initialize(init.Xavier(), force_reinit=True, ctx=device)     # biases start at 0
        net.hybridize()
        self.net, self.device = net, device
        self.trainer = trainer if trainer is not None else gluon.Trainer(
            net.collect_params(), 'sgd', {'learning_rate': lr})
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss()
        # A scheduler inside the Trainer would run per update (the book's bug): take it out.
        self.attached = self.trainer._optimizer.lr_scheduler
        self.trainer._optimizer.lr_scheduler = None

    def train_step(self, X, y):
        X, y = X.as_in_ctx(self.device), y.as_in_ctx(self.device)
        with autograd.record():
            y_hat = self.net(X)
            loss = self.loss(y_hat, y)
        loss.backward()
        self.trainer.step(X.shape[0])
        return loss.mean(), y_hat

    def predict(self, X):
        return self.net(X.as_in_ctx(self.device))

    def get_lr(self) -> float:
        return float(self.trainer.learning_rate)

    def set_lr(self, lr: float) -> None:
        self.trainer.set_learning_rate(lr)


class _Ours(mx.lr_scheduler.LRScheduler):
    """One of our schedulers behind MXNet's scheduler interface."""

    def __init__(self, scheduler: Any) -> None:
        super().__init__(base_lr=scheduler(0))
        self.scheduler = scheduler

    def __call__(self, num_update: int) -> float:
        return self.scheduler(num_update)


def builtin_scheduler(scheduler: Any) -> mx.lr_scheduler.LRScheduler:
    """One of our schedulers as an ``mxnet.lr_scheduler`` object, called with the epoch ``t``.

    Cosine is MXNet's ``CosineScheduler`` (same formula, same warm-up). Multi-factor
    is ``MultiFactorScheduler`` with every step one lower, since MXNet decays only
    once ``t`` *exceeds* a step. MXNet's ``FactorScheduler`` decays every ``step``
    updates from the second one on, which no setting turns into the book's
    ``base * factor^(t+1)``, and there is no square-root scheduler: those two are
    ours behind the ``LRScheduler`` interface.
    """
    schedulers = mx.lr_scheduler
    if isinstance(scheduler, CosineScheduler):
        return schedulers.CosineScheduler(scheduler.max_update, base_lr=scheduler.base_lr,
                                          final_lr=scheduler.final_lr,
                                          warmup_steps=scheduler.warmup_steps,
                                          warmup_begin_lr=scheduler.warmup_begin_lr)
    if isinstance(scheduler, MultiFactorScheduler) and scheduler.step[0] >= 2:
        return schedulers.MultiFactorScheduler([s - 1 for s in scheduler.step], factor=scheduler.factor,
                                               base_lr=scheduler.base_lr)
    if isinstance(scheduler, (SquareRootScheduler, FactorScheduler, MultiFactorScheduler)):
        return _Ours(scheduler)
    raise classify.no_builtin(scheduler)


class _MXNetClassify(ClassifyBackend):
    def epoch_hook(self, scheduler: Any, model: _Classifier, builtin: bool) -> classify.EpochHook | None:
        """A scheduler taken out of the learner's Trainer is driven per epoch, as scheduler= is."""
        if model.attached is not None:
            if scheduler is not None:
                raise ValueError("give the scheduler either to the Trainer or as scheduler=, not both")
            scheduler = model.attached
        return super().epoch_hook(scheduler, model, builtin)


def _stateful(scheduler: Any, model: _Classifier) -> Any:
    if isinstance(scheduler, mx.lr_scheduler.LRScheduler):
        return lambda t: float(scheduler(t))
    return None


CLASSIFY = _MXNetClassify(name='mxnet', classifier=_Classifier, default_device=try_gpu,
                          builtin=lambda scheduler, model: builtin_scheduler(scheduler),
                          seed=mx.random.seed, net=LeNet, stateful=_stateful,
                          schedulers=' or an mxnet.lr_scheduler object')
fit_ch6, train_ch6 = classify.book_functions(CLASSIFY)
