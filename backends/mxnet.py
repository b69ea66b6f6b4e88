"""MXNet backend (mxnet 1.9.1, its numpy interface): ``from d2l_optim.backends import mxnet as d2l``.

As in the book's MXNet tab, parameters carry their gradient (``attach_grad``), the
loss is recorded under ``autograd.record()``, optimizers take
``rmsprop(params, states, hyperparams)``, read ``p.grad`` and write ``p[:] = ...``.
MXNet only runs on Python 3.10-3.12 with numpy < 2; elsewhere importing this module
raises :class:`~d2l_optim.backend.BackendUnavailable` saying so.
"""
from __future__ import annotations

import sys
import warnings
from types import SimpleNamespace
from typing import Any, Callable

import numpy as onp  # "numpy" becomes the book's d2l.numpy below

from d2l_optim.backend import Backend, BackendUnavailable
from d2l_optim import data
from d2l_optim.book_api import book_api

_WORKS = ('mxnet 1.9.1, the last MXNet release, runs only on Python 3.10-3.12 with numpy < 2 '
          '(install there with: pip install "d2l-optim[mxnet]")')


def _unavailable(reason: str) -> BackendUnavailable:
    return BackendUnavailable(f"The MXNet backend cannot run here because {reason}; {_WORKS}.")


_py = '.'.join(map(str, sys.version_info[:2]))
if sys.version_info >= (3, 13):
    raise _unavailable(f"this is Python {_py}")
if int(onp.__version__.split('.')[0]) >= 2:
    raise _unavailable(f"this environment has numpy {onp.__version__}")
# mxnet 1.9.1 reads numpy.bool, an alias NumPy removed in 1.24 (apache/mxnet#21165, never
# fixed upstream); it is the same type as numpy.bool_. vars() avoids NumPy's FutureWarning.
if 'bool' not in vars(onp):
    onp.bool = onp.bool_  # type: ignore[attr-defined]
try:
    with warnings.catch_warnings():     # mxnet's own DeprecationWarnings (distutils, NEP 32)
        warnings.simplefilter('ignore', DeprecationWarning)
        from mxnet import autograd, gluon, init, npx
        from mxnet import np as mnp
        import mxnet
except Exception as e:  # missing, or broken (e.g. no distutils on 3.12 without setuptools)
    raise _unavailable(f"importing mxnet failed with {type(e).__name__}: {e}") from e

npx.set_np()

F32 = 'float32'
xp = SimpleNamespace(sqrt=mnp.sqrt, sign=mnp.sign, zeros_like=mnp.zeros_like,
                     matmul=mnp.dot, reshape=mnp.reshape, mean=mnp.mean)


def tensor(a: Any, dtype: Any = F32) -> Any:
    """A float32 MXNet array from NumPy data, a list or a scalar."""
    if isinstance(a, onp.ndarray) and a.ndim and dtype in (F32, onp.float32):
        # Wrap a private float32 copy without a second copy: mnp.array's synchronous copy
        # costs more than the whole update step (measured), and minibatches come this way.
        own = onp.array(a, dtype=onp.float32, order='C')
        return mxnet.nd.from_numpy(own, zero_copy=True).as_np_ndarray()
    return mnp.array(a, dtype=dtype)


def _parameter(a: onp.ndarray) -> Any:
    p = mnp.array(a, dtype=F32)
    p.attach_grad()           # grad_req 'write': each backward overwrites p.grad, no zeroing
    return p


def _assign(target: Any, value: Any) -> None:
    """The book's ``p[:] = value``; a same-shape array goes through ``copyto``, the same
    write as one engine call instead of MXNet's indexing path (5x cheaper, measured)."""
    if isinstance(value, mnp.ndarray) and value.shape == target.shape:
        value.copyto(target)
    else:
        target[:] = value


def _gradients(loss_fn: Callable[[], Any], params: list, analytic: Callable[[], list]) -> list:
    with autograd.record():
        loss = loss_fn()
    loss.backward()
    return [p.grad for p in params]


def _backward(loss_fn: Callable[[], Any]) -> None:
    """backward of loss_fn() without clearing: grad_req 'write' overwrites each p.grad."""
    with autograd.record():
        loss = loss_fn()
    loss.backward()


def _concise(trainer: Any, hyperparams: dict, w0: onp.ndarray, b0: onp.ndarray):
    """Gluon's way: ``nn.Dense(1)``, ``gluon.Trainer(params, 'rmsprop', {...})``, ``L2Loss``."""
    if isinstance(trainer, str) and trainer.lower() not in mxnet.optimizer.Optimizer.opt_registry:
        raise ValueError(f"unknown Gluon optimizer {trainer!r}; choose one of: "
                         f"{', '.join(sorted(mxnet.optimizer.Optimizer.opt_registry))}")
    net = gluon.nn.Dense(1, in_units=w0.shape[0])
    net.initialize(init.Zero())
    net.weight.set_data(mnp.array(w0.T, dtype=F32))   # Dense stores the weight as (out, in)
    net.bias.set_data(mnp.array(b0, dtype=F32))
    opt = gluon.Trainer(net.collect_params(), trainer.lower() if isinstance(trainer, str) else trainer,
                        dict(hyperparams) if isinstance(trainer, str) else None)
    loss = gluon.loss.L2Loss()      # 1/2 (y_hat - y)^2, the chapter's squared_loss

    def step(X: Any, y: Any) -> None:
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        opt.step(X.shape[0])        # backward summed the batch; step rescales by 1/batch
    step.blocks = (net, loss)       # what compile=True hybridizes
    return step, net


def _compile(fn: Callable) -> Callable:
    """``compile=True``: hybridize the Gluon blocks a step lists in ``fn.blocks``.

    Only the concise step has blocks; a scratch step (the book's own optimizer code)
    stays eager, as in the book's MXNet tab.
    """
    blocks = getattr(fn, 'blocks', None)
    if not blocks:
        raise ValueError("compile=True on MXNet hybridizes Gluon blocks, so it applies to "
                         "train_concise_ch11 only; train_ch11 runs the optimizer eagerly")
    for block in blocks:
        block.hybridize(static_alloc=True)
    return fn


def _load_array(data_arrays: Any, batch_size: int, is_train: bool = True) -> Any:
    """The book's ``load_array``: Gluon's own DataLoader over an ArrayDataset."""
    hosts = [_host(a) for a in data_arrays]
    data.check_finite(hosts)                                  # NaN: a data problem, named
    dataset = gluon.data.ArrayDataset(*[tensor(a) for a in hosts])
    return gluon.data.DataLoader(dataset, batch_size, shuffle=is_train)


def _host(a: Any) -> onp.ndarray:
    return a.asnumpy() if hasattr(a, 'asnumpy') else onp.asarray(a)


_backend = Backend(
    name='mxnet', xp=xp, tensor=tensor, parameter=_parameter,
    state=lambda a: mnp.array(a, dtype=F32),
    assign=_assign, gradients=_gradients, concise=_concise, compile=_compile,
    grads_on_params=True, backward=_backward,
    extras={
        'grad': lambda p: p.grad,
        'arange': mnp.arange, 'zeros': mnp.zeros, 'tensor': tensor,
        'normal': mnp.random.normal, 'numpy': _host, 'meshgrid': mnp.meshgrid,
        'linspace': mnp.linspace, 'sin': mnp.sin, 'cos': mnp.cos, 'sinh': mnp.sinh,
        'cosh': mnp.cosh, 'tanh': mnp.tanh, 'exp': mnp.exp, 'load_array': _load_array,
    },
)

globals().update(book_api(_backend))

# 11.11: LeNet, Fashion-MNIST and the train_ch6 names (kept in their own module).
from d2l_optim.backends.mxnet_lenet import *  # noqa: E402,F401,F403
