"""PyTorch pieces for 11.11: LeNet, Fashion-MNIST batches, ``train_ch6`` with a per-epoch scheduler.

``from d2l_optim.backends import torch_lenet as d2l``. Only what is PyTorch's is
here: the network, one SGD step (``zero_grad``, ``backward``, ``step``), setting
``param_groups[i]['lr']``, and ``torch.optim.lr_scheduler``. The epoch loop, the
accuracy bookkeeping and the schedules are the core's (:mod:`d2l_optim.classify`,
:mod:`d2l_optim.schedulers`).

A ``torch.optim.lr_scheduler`` object is stepped once per *finished* epoch, so
epoch ``t`` runs at the rate it reports after ``t`` steps: for ``MultiStepLR``
that is the book's ``lr(t)``. Our own schedulers are read at ``t`` before the
epoch starts, so unlike the book's PyTorch cell they do not lag one epoch.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim import lr_scheduler

from d2l_optim import classify, fashion_mnist
from d2l_optim.classify import Accumulator, ClassifyBackend, accuracy
from d2l_optim.fashion_mnist import get_fashion_mnist_labels
from d2l_optim.schedulers import (CosineScheduler, FactorScheduler, MultiFactorScheduler,
                                  SquareRootScheduler)

__all__ = ['LeNet', 'try_gpu', 'accuracy', 'Accumulator', 'evaluate_accuracy_gpu',
           'load_data_fashion_mnist', 'get_fashion_mnist_labels', 'train_ch6', 'fit_ch6',
           'builtin_scheduler', 'SquareRootScheduler', 'FactorScheduler', 'MultiFactorScheduler',
           'CosineScheduler']


def try_gpu(i: int = 0) -> torch.device:
    """GPU ``i`` if there is one, else the CPU."""
    return torch.device(f'cuda:{i}') if torch.cuda.device_count() >= i + 1 else torch.device('cpu')


def LeNet() -> nn.Sequential:
    """LeNet-5 as the book's text describes it: ReLU activations and max-pooling, 28 x 28 inputs."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def _init(m: nn.Module) -> None:
    """Xavier-uniform weights, zero biases (the same start on every backend)."""
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


def _device_of(net: nn.Module) -> torch.device:
    return next(iter(net.parameters())).device


def evaluate_accuracy_gpu(net: nn.Module, data_iter: Any, device: Any = None) -> float:
    """Test accuracy of ``net`` in eval mode, batches moved to ``device`` (default: the net's)."""
    net.eval()
    device = device or _device_of(net)
    with torch.no_grad():
        return classify.evaluate_accuracy(lambda X: net(X.to(device)), data_iter)


def load_data_fashion_mnist(batch_size: int, resize: Any = None, *, path: Any = None,
                            seed: int | None = None, arrays: Any = None) -> tuple[Any, Any]:
    """Fashion-MNIST as ``(train_iter, test_iter)`` of float32 (n, 1, H, W) images and int64 labels."""
    return fashion_mnist.load_data_fashion_mnist(
        batch_size, resize, to_images=torch.from_numpy, to_labels=torch.from_numpy,
        path=path, arrays=arrays, rng=np.random.default_rng(seed))


class _Classifier:
    """A network with its optimizer: one SGD step per minibatch, the rate in ``param_groups``."""

    def __init__(self, net: nn.Module, lr: float, device: Any, trainer: Any = None) -> None:
        net.apply(_init)
        self.net, self.device = net.to(device), device
        self.opt = trainer if trainer is not None else torch.optim.SGD(net.parameters(), lr=lr)
        self.loss = nn.CrossEntropyLoss()

    def train_step(self, X, y):
        self.net.train()
        X, y = X.to(self.device), y.to(self.device)
        self.opt.zero_grad()
        y_hat = self.net(X)
        loss = self.loss(y_hat, y)
        loss.backward()
        self.opt.step()
        return loss.detach(), y_hat.detach()

    def predict(self, X):
        self.net.eval()
        with torch.no_grad():
            return self.net(X.to(self.device))

    def get_lr(self) -> float:
        return float(self.opt.param_groups[0]['lr'])

    def set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group['lr'] = lr


def builtin_scheduler(scheduler: Any, optimizer: torch.optim.Optimizer) -> lr_scheduler.LRScheduler:
    """One of our schedulers as ``torch.optim.lr_scheduler`` objects on ``optimizer``.

    Multi-factor is ``MultiStepLR``; cosine is ``CosineAnnealingLR`` after a warm-up
    (``LinearLR``, or ``LambdaLR`` from a warm-up start of 0, which ``LinearLR``
    refuses), held at ``final_lr`` by ``ConstantLR``, chained with ``SequentialLR``
    (``CosineAnnealingLR`` alone would climb back after ``T_max``). Square root and
    factor have no built-in formula, so they are ``LambdaLR`` with ours.
    """
    base = float(scheduler.lr if isinstance(scheduler, SquareRootScheduler) else
                 getattr(scheduler, 'base_lr', 0.0))
    for group in optimizer.param_groups:      # every built-in scales the group's initial_lr
        group['lr'] = group['initial_lr'] = base
    if isinstance(scheduler, SquareRootScheduler):
        return lr_scheduler.LambdaLR(optimizer, lambda t: (t + 1.0) ** -0.5)
    if isinstance(scheduler, FactorScheduler):
        return lr_scheduler.LambdaLR(optimizer, lambda t: scheduler(t) / base)
    if isinstance(scheduler, MultiFactorScheduler):
        return lr_scheduler.MultiStepLR(optimizer, milestones=list(scheduler.step), gamma=scheduler.factor)
    if isinstance(scheduler, CosineScheduler):
        w, chain, milestones = scheduler.warmup_steps, [], []
        if w:
            start = scheduler.warmup_begin_lr / base
            chain.append(lr_scheduler.LinearLR(optimizer, start, 1.0, total_iters=w) if 0 < start <= 1
                         else lr_scheduler.LambdaLR(optimizer, lambda t: scheduler(t) / base))
            milestones.append(w)
        chain.append(lr_scheduler.CosineAnnealingLR(optimizer, T_max=scheduler.max_update - w,
                                                    eta_min=scheduler.final_lr))
        chain.append(lr_scheduler.ConstantLR(optimizer, factor=scheduler.final_lr / base,
                                             total_iters=2 ** 62))
        milestones.append(scheduler.max_update)
        return lr_scheduler.SequentialLR(optimizer, chain, milestones)
    raise classify.no_builtin(scheduler)


def _stateful(scheduler: Any, model: _Classifier) -> Any:
    if not isinstance(scheduler, lr_scheduler.LRScheduler):
        return None
    if scheduler.optimizer is not model.opt:
        raise ValueError("the lr_scheduler is bound to another optimizer; pass that optimizer "
                         "as trainer=, or use builtin=True with one of our schedulers")
    if scheduler.last_epoch != 0:
        raise ValueError(f"the lr_scheduler has already been stepped {scheduler.last_epoch} times "
                         "(e.g. by a plotting cell); create a fresh one for training")

    def at_epoch(t: int) -> float:
        if t:
            scheduler.step()       # once per finished epoch
        return model.get_lr()
    return at_epoch


CLASSIFY = ClassifyBackend(name='torch', classifier=_Classifier, default_device=try_gpu,
                           builtin=lambda scheduler, model: builtin_scheduler(scheduler, model.opt),
                           seed=torch.manual_seed, net=LeNet, stateful=_stateful,
                           schedulers=' or a torch.optim.lr_scheduler object')
fit_ch6, train_ch6 = classify.book_functions(CLASSIFY)
