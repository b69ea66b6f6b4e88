r"""A two-layer network in NumPy, backprop written once, trained by :mod:`d2l_optim.optimizers`.

.. math::
    \mathbf{H} = \tanh(\mathbf{X}\mathbf{W}_1 + \mathbf{b}_1), \qquad
    \hat{\mathbf{y}} = \mathbf{H}\mathbf{W}_2 + \mathbf{b}_2, \qquad
    L = \frac{1}{n}\sum_i \tfrac12 (\hat y_i - y_i)^2

on the airfoil data (5 features, z-scored, the book's first 1500 rows), with the
loss of the chapter's linear regression, so the numbers are comparable with
``train_ch11`` (about 0.24 there; 0.2417 is the least-squares optimum of any linear
model, :func:`linear_baseline`). Every optimizer starts from the same weights
and sees the same minibatches, so the curves differ only by the update rule.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .airfoil import get_data_ch11
from .optimizers import (SGD, AdaGrad, Adadelta, Adam, Momentum, Nesterov, Optimizer, RMSprop,
                         Yogi)
from .zoo import new_figure

Params = dict[str, np.ndarray]


def init_params(n_in: int, n_hidden: int, rng: np.random.Generator) -> Params:
    """Weights N(0, 1/fan_in) (keeps tanh out of saturation), biases 0, float64."""
    return {'W1': rng.normal(0.0, 1.0 / math.sqrt(n_in), size=(n_in, n_hidden)),
            'b1': np.zeros(n_hidden),
            'W2': rng.normal(0.0, 1.0 / math.sqrt(n_hidden), size=(n_hidden, 1)),
            'b2': np.zeros(1)}


def predict(params: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The network's output, shape ``(n, 1)``."""
    return np.tanh(X @ params['W1'] + params['b1']) @ params['W2'] + params['b2']


def loss(params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Mean of half the squared error, as the chapter's ``squared_loss``."""
    r = predict(params, X) - np.reshape(y, (-1, 1))
    return float(np.mean(r * r) / 2)


def loss_and_grads(params: Mapping[str, np.ndarray], X: np.ndarray,
                   y: np.ndarray) -> tuple[float, Params]:
    """The loss and its gradient for every parameter, by the chain rule (keys as ``params``)."""
    H = np.tanh(X @ params['W1'] + params['b1'])
    r = H @ params['W2'] + params['b2'] - np.reshape(y, (-1, 1))
    n = X.shape[0]
    d_out = r / n                                    # dL / d y_hat
    d_pre = (d_out @ params['W2'].T) * (1.0 - H * H)  # back through tanh
    grads = {'W1': X.T @ d_pre, 'b1': d_pre.sum(axis=0),
             'W2': H.T @ d_out, 'b2': d_out.sum(axis=0)}
    return float(np.mean(r * r) / 2), grads


def default_optimizers() -> dict[str, Optimizer]:
    """Every class at the learning rate that trained this network best.

    Picked from 0.003, 0.01, 0.03, 0.1, 0.3, 1 by the mean final loss after 10
    epochs over seeds 0, 1, 2 (:func:`sweep`, rerun in the notebook); Adadelta
    has no learning rate.
    """
    return {'SGD': SGD(lr=0.3), 'Momentum': Momentum(lr=0.03, momentum=0.9),
            'Nesterov': Nesterov(lr=0.03, momentum=0.9), 'AdaGrad': AdaGrad(lr=0.3),
            'RMSprop': RMSprop(lr=0.03, decay_rate=0.99), 'Adam': Adam(lr=0.03),
            'Adadelta': Adadelta(rho=0.9), 'Yogi': Yogi(lr=0.03)}


@dataclass
class Curve:
    """One optimizer's run: full-data loss at epochs ``x`` (0 = before training)."""

    name: str
    x: list = field(default_factory=list)
    losses: list = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan

    @property
    def diverged(self) -> bool:
        return not math.isfinite(self.final_loss)


def train(optimizer: Optimizer, params: Params, data_iter, epochs: int = 10,
          evals_per_epoch: int = 5, name: str | None = None) -> Curve:
    """Minibatch training of ``params`` in place; the full-data loss ``evals_per_epoch`` times
    an epoch. A run whose loss overflows stops there, with ``nan`` as its last loss."""
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f'epochs must be an integer >= 1, got {epochs!r}')
    X_all, y_all = data_iter.full()
    n_batches = len(data_iter)
    every = max(1, n_batches // evals_per_epoch)
    curve = Curve(name or type(optimizer).__name__, [0.0], [loss(params, X_all, y_all)])
    with np.errstate(over='ignore', invalid='ignore'):
        for epoch in range(epochs):
            for i, (X, y) in enumerate(data_iter, start=1):
                _, grads = loss_and_grads(params, X, y)
                try:
                    optimizer.update(params, grads)
                except FloatingPointError:      # a NaN/inf gradient: the run has diverged
                    curve.x.append(epoch + i / n_batches)
                    curve.losses.append(math.nan)
                    return curve
                if i % every == 0 or i == n_batches:
                    value = loss(params, X_all, y_all)
                    curve.x.append(epoch + i / n_batches)
                    curve.losses.append(value if math.isfinite(value) else math.nan)
                    if not math.isfinite(value):
                        return curve
    return curve


def compare_optimizers(optimizers: Mapping[str, Optimizer] | None = None, epochs: int = 10,
                       batch_size: int = 10, hidden: int = 16, seed: int = 0,
                       path: str | os.PathLike | None = None) -> dict[str, Curve]:
    """Train one network per optimizer from the same initial weights on the same batch order."""
    optimizers = default_optimizers() if optimizers is None else optimizers
    curves = {}
    for name, opt in optimizers.items():
        rng = np.random.default_rng(seed)
        data_iter, n_in = get_data_ch11(batch_size, convert=lambda a: a.astype(np.float64),
                                        path=path, rng=rng)
        params = init_params(n_in, hidden, np.random.default_rng(seed))
        curves[name] = train(opt, params, data_iter, epochs, name=name)
    return curves


def sweep(make: Callable[[float], Optimizer], lrs: Sequence[float], epochs: int = 10,
          seeds: Sequence[int] = (0, 1, 2), path: str | os.PathLike | None = None,
          **kwargs) -> dict[float, tuple[float, float]]:
    """Learning rate -> (mean, std) of the final loss over ``seeds``, ``make(lr)`` giving a fresh
    optimizer per run; a diverged run counts as ``inf``."""
    result = {}
    for lr in lrs:
        finals = []
        for seed in seeds:
            curve = compare_optimizers({'run': make(lr)}, epochs, seed=seed, path=path, **kwargs)['run']
            finals.append(math.inf if curve.diverged else curve.final_loss)
        finite = all(math.isfinite(v) for v in finals)
        result[lr] = (float(np.mean(finals)), float(np.std(finals)) if finite else math.inf)
    return result


def linear_baseline(path: str | os.PathLike | None = None) -> float:
    """The lowest loss any linear model reaches on the same data (least squares, closed form)."""
    data_iter, _ = get_data_ch11(convert=lambda a: a.astype(np.float64), path=path)
    X, y = data_iter.full()
    A = np.column_stack([X, np.ones(len(X))])
    w = np.linalg.lstsq(A, y, rcond=None)[0]
    r = A @ w - y
    return float(np.mean(r * r) / 2)


def plot_curves(curves: Mapping[str, Curve], fig=None, baseline: float | None = None):
    """The loss curves of :func:`compare_optimizers` on one log-scaled axis."""
    fig = new_figure((6.0, 4.0)) if fig is None else fig
    ax = fig.add_subplot()
    for curve in curves.values():
        ax.plot(curve.x, curve.losses, label=f'{curve.name} ({curve.final_loss:.3f})')
    if baseline is not None:
        ax.axhline(baseline, color='k', linestyle=':', label=f'best linear model ({baseline:.3f})')
    ax.set_yscale('log')
    ax.set_xlabel('epoch'), ax.set_ylabel('loss')
    ax.set_title('two-layer network on the airfoil data')
    ax.legend(fontsize='small')
    ax.grid(True, which='both', alpha=0.3)
    return fig
