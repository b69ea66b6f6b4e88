"""NumPy pieces for 11.11: no LeNet, but an MLP that NumPy can train, under the same ``train_ch6``.

``from d2l_optim.backends import numpy_lenet as d2l``. LeNet needs convolutions
and automatic differentiation, which NumPy does not have: ``LeNet()`` says so
and names the backends that have them. What NumPy trains instead is a
multilayer perceptron 784-256-10 with ReLU (the book's 5.2 model), its
gradients written out by hand and its step the core's SGD rule, so the
chapter's schedules can be compared on the NumPy backend too (``net=None`` in
``train_ch6`` means this MLP). Its numbers are not LeNet's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from d2l_optim import classify, fashion_mnist
from d2l_optim.classify import Accumulator, ClassifyBackend, accuracy
from d2l_optim.fashion_mnist import get_fashion_mnist_labels
from d2l_optim.ops import numpy_ops
from d2l_optim.rules import apply_rule, get_rule
from d2l_optim.schedulers import (CosineScheduler, FactorScheduler, MultiFactorScheduler,
                                  SquareRootScheduler)

__all__ = ['LeNet', 'MLP', 'try_gpu', 'accuracy', 'Accumulator', 'evaluate_accuracy_gpu',
           'load_data_fashion_mnist', 'get_fashion_mnist_labels', 'train_ch6', 'fit_ch6',
           'SquareRootScheduler', 'FactorScheduler', 'MultiFactorScheduler', 'CosineScheduler']

_WEIGHTS = classify.WeightRNG()      # initial weights; fit_ch6(seed=...) restarts it


def LeNet() -> Any:
    """Not available: LeNet needs a framework."""
    raise NotImplementedError(
        "LeNet needs convolutions and automatic differentiation, which the numpy backend does not "
        "have; use backend torch, tensorflow or mxnet (e.g. pip install \"d2l-optim[torch]\"), or "
        "train the NumPy MLP: MLP(), or net=None in train_ch6")


def try_gpu(i: int = 0) -> str:
    """NumPy runs on the CPU."""
    return 'cpu'


class MLP:
    """784-256-10 with ReLU; ``net(X)`` gives logits for (n, 1, 28, 28) or (n, 784) images."""

    def __init__(self, num_inputs: int = 784, num_hiddens: int = 256, num_outputs: int = 10) -> None:
        self.sizes = (num_inputs, num_hiddens, num_outputs)
        self.initialize()

    def initialize(self, rng: np.random.Generator | None = None) -> None:
        """Xavier-uniform weights, zero biases, as the framework backends start."""
        rng = rng or _WEIGHTS.rng
        self.params = []
        for n_in, n_out in zip(self.sizes, self.sizes[1:]):
            bound = np.sqrt(6 / (n_in + n_out))
            self.params += [rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32),
                            np.zeros(n_out, np.float32)]

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        W1, b1, W2, b2 = self.params
        X = X.reshape(len(X), -1)
        H = np.maximum(X @ W1 + b1, 0)
        return X, H, H @ W2 + b2

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)[2]


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def evaluate_accuracy_gpu(net: Any, data_iter: Any, device: Any = None) -> float:
    """Test accuracy of ``net``."""
    return classify.evaluate_accuracy(net, data_iter)


def load_data_fashion_mnist(batch_size: int, resize: Any = None, *, path: Any = None,
                            seed: int | None = None, arrays: Any = None) -> tuple[Any, Any]:
    """Fashion-MNIST as ``(train_iter, test_iter)`` of float32 (n, 1, H, W) images and int64 labels."""
    return fashion_mnist.load_data_fashion_mnist(batch_size, resize, path=path, arrays=arrays,
                                                 rng=np.random.default_rng(seed))


class _Classifier:
    """The MLP with the core's SGD rule (or a ``d2l_optim.optimizers`` trainer); gradients of the
    mean cross-entropy by hand."""

    def __init__(self, net: Any, lr: float, device: Any, trainer: Any = None) -> None:
        if not isinstance(net, MLP):
            raise ValueError(f"the numpy backend trains its MLP only, got {type(net).__name__}")
        if trainer is not None and not callable(getattr(trainer, 'update', None)):
            raise ValueError("the numpy backend's trainer is a d2l_optim.optimizers optimizer (e.g. "
                             f"RMSprop(lr=0.01)), or None for the core's sgd at lr; got {trainer!r}")
        net.initialize()
        self.net, self.device, self.hp, self.trainer = net, 'cpu', {'lr': lr}, trainer
        if trainer is not None:
            trainer.reset()              # fresh state for the fresh weights
            self.hp = trainer.hyperparams
        self.rule = get_rule('sgd')

    def train_step(self, X, y):
        X, H, Z = self.net.forward(X)
        logp = _log_softmax(Z)
        n = len(y)
        loss = -logp[np.arange(n), y].mean()
        dZ = np.exp(logp)
        dZ[np.arange(n), y] -= 1
        dZ /= n
        W1, b1, W2, b2 = self.net.params
        dH = (dZ @ W2.T) * (H > 0)
        grads = [X.T @ dH, dH.sum(axis=0), H.T @ dZ, dZ.sum(axis=0)]
        if self.trainer is None:
            self.net.params, _ = apply_rule(self.rule, self.net.params, grads, None, self.hp, numpy_ops)
        else:                            # the optimizer writes into the arrays in place
            self.trainer.update(dict(enumerate(self.net.params)), dict(enumerate(grads)))
        return loss, Z

    def predict(self, X):
        return self.net(X)

    def get_lr(self) -> float:
        return float(self.hp['lr'])

    def set_lr(self, lr: float) -> None:
        self.hp['lr'] = lr


def _no_builtins(scheduler: Any, model: _Classifier) -> None:
    raise ValueError("NumPy has no built-in schedulers; ours (d2l_optim.schedulers) are its own: "
                     "use builtin=False")


CLASSIFY = ClassifyBackend(name='numpy', classifier=_Classifier, default_device=try_gpu,
                           builtin=_no_builtins, seed=_WEIGHTS.seed, net=MLP)
fit_ch6, train_ch6 = classify.book_functions(CLASSIFY)
