"""PyTorch backend: ``from d2l_optim.backends import torch as d2l``.

PyTorch's quirks, and only those: parameters are float32 tensors with
``requires_grad``; ``loss.backward()`` leaves the gradient in ``p.grad``, which
the book's optimizers read, so they take ``(params, states, hyperparams)``;
updates happen in place under ``torch.no_grad()``; ``p.grad`` is cleared after
every step, as the book's ``p.grad.data.zero_()`` does.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import torch

from d2l_optim.backend import Backend
from d2l_optim.book_api import book_api
from d2l_optim import airfoil, data

xp = SimpleNamespace(sqrt=torch.sqrt, sign=torch.sign, zeros_like=torch.zeros_like,
                     matmul=torch.matmul, reshape=torch.reshape, mean=torch.mean)


def _tensor(a: Any) -> torch.Tensor:
    """float32 NumPy -> tensor, sharing memory (batches are read, never written)."""
    return torch.from_numpy(np.asarray(a, dtype=np.float32))


def _assign(target: torch.Tensor, value: Any) -> None:
    if torch.is_grad_enabled():     # the book's optimizers already run under no_grad: a second
        with torch.no_grad():       # context per write was 6% of an Adam step (d2l-optim bench)
            target.copy_(value)
    else:
        target.copy_(value)


def _clear_grad(p: torch.Tensor) -> None:
    p.grad = None


def _gradients(loss_fn: Callable[[], torch.Tensor], params: list, analytic: Callable) -> list:
    for p in params:
        p.grad = None           # so a learner's optimizer that forgets to zero cannot accumulate
    loss_fn().backward()
    return [p.grad for p in params]


def _optimizer_class(trainer: Any) -> type:
    """A ``torch.optim`` class, or its name in any case (``'rmsprop'`` -> ``RMSprop``)."""
    if not isinstance(trainer, str):
        return trainer
    base = torch.optim.Optimizer
    classes = {n.lower(): c for n, c in vars(torch.optim).items()
               if isinstance(c, type) and issubclass(c, base) and c is not base}
    if trainer.lower() not in classes:
        raise ValueError(f"unknown torch.optim optimizer {trainer!r}; choose one of: "
                         f"{', '.join(sorted(c.__name__ for c in classes.values()))}")
    return classes[trainer.lower()]


def _concise(trainer: Any, hyperparams: dict, w0: np.ndarray, b0: np.ndarray):
    """``nn.Linear`` with weight w0 (transposed) and bias b0, trained by ``trainer(params, **hp)``.

    The loss is the core's 1/2 (y_hat - y)^2, not ``nn.MSELoss``, so gradients match
    the scratch code (the book's PyTorch tab has them twice as large).
    """
    net = torch.nn.Linear(w0.shape[0], 1)
    with torch.no_grad():
        net.weight.copy_(torch.from_numpy(w0.T.copy()))
        net.bias.copy_(torch.from_numpy(b0))
    optimizer = _optimizer_class(trainer)(net.parameters(), **hyperparams)

    def step(X: torch.Tensor, y: torch.Tensor) -> None:
        optimizer.zero_grad()
        airfoil.squared_loss(net(X), y, xp).mean().backward()
        optimizer.step()
    return step, net


def load_array(arrays, batch_size: int, is_train: bool = True) -> torch.utils.data.DataLoader:
    """The book's ``load_array``: a ``DataLoader`` over a ``TensorDataset``."""
    tensors = [a if isinstance(a, torch.Tensor) else _tensor(a) for a in arrays]
    data.check_finite([t.detach().numpy() for t in tensors])     # NaN: a data problem, named
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size,
                                       shuffle=is_train)


_backend = Backend(
    name='torch', xp=xp, tensor=_tensor,
    parameter=lambda a: torch.tensor(a, dtype=torch.float32, requires_grad=True),
    state=lambda a: torch.tensor(a, dtype=torch.float32),
    assign=_assign, gradients=_gradients, concise=_concise,
    no_grad=torch.no_grad, grads_on_params=True,
    backward=lambda loss_fn: loss_fn().backward(), grads_accumulate=True,
    extras={
        'grad': lambda p: p.grad, 'zero_grad': _clear_grad, 'load_array': load_array,
        'arange': torch.arange, 'zeros': torch.zeros, 'tensor': torch.tensor,
        'normal': torch.normal, 'numpy': lambda x, *a, **k: x.detach().numpy(*a, **k),
        'meshgrid': lambda *t, indexing='ij': torch.meshgrid(*t, indexing=indexing),
        'linspace': torch.linspace, 'sin': torch.sin, 'cos': torch.cos, 'sinh': torch.sinh,
        'cosh': torch.cosh, 'tanh': torch.tanh, 'exp': torch.exp,
    },
)

globals().update(book_api(_backend))

# 11.11: LeNet, Fashion-MNIST and the train_ch6 names (kept in their own module).
from d2l_optim.backends.torch_lenet import *  # noqa: E402,F401,F403
