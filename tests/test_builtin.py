"""Scratch vs built-in: each core rule against each framework's own optimizer.

Two measurements per (rule, framework), both in docs/scratch-vs-builtin.md:

* ``steps``: 20 steps from the same start on the same gradients (N(0, 1), shape (5, 1)),
  the core rule in NumPy float64 against the framework's optimizer (float64 where the
  framework allows it, float32 for Gluon, whose optimizer states are always float32);
  the max |difference| of the parameters over all 20 steps.
* ``airfoil``: the chapter's run, ``fit_concise_ch11`` with the built-in on that backend
  against ``fit_ch11`` with the core rule on NumPy, seed 0, float32; the max |difference|
  of the loss curves over all 15 evaluated points.

Each case names the framework's arguments that match the core rule as closely as the
framework allows, a bound a little above the measured value, and why any residual remains.
``python tests/test_builtin.py`` prints the measured table.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from conftest import load_or_skip
from d2l_optim.backend import BackendUnavailable, load_backend
from d2l_optim.ops import numpy_ops
from d2l_optim.rules import RULES, apply_rule

STEPS = 20
_rng = np.random.default_rng(0)
P0 = _rng.normal(size=(5, 1))
GRADS = [_rng.normal(size=(5, 1)) for _ in range(STEPS)]

EXACT = 1e-12          # float64 on both sides, the same arithmetic up to operation order
KERAS = 1e-7           # Keras keeps learning_rate in a float32 variable (0.05 -> 0.0500000007)
F32 = 5e-7             # Gluon: float32 against float64, rounding only


def scratch(rule: str, hyperparams: dict | None = None) -> np.ndarray:
    """The core rule's trajectory (STEPS x 5), NumPy float64."""
    hp = dict(hyperparams or RULES[rule].defaults)
    params, states, out = [P0.copy()], None, []
    for g in GRADS:
        params, states = apply_rule(RULES[rule], params, [g], states, hp, numpy_ops)
        out.append(params[0].ravel().copy())
    return np.array(out)


def run_torch(name: str, kwargs: dict) -> np.ndarray:
    import torch
    p = torch.tensor(P0, requires_grad=True)                     # float64
    opt = getattr(torch.optim, name)([p], **kwargs)
    out = []
    for g in GRADS:
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        out.append(p.detach().numpy().ravel().copy())
    return np.array(out)


def run_keras(name: str, kwargs: dict) -> np.ndarray:
    import tensorflow as tf
    v = tf.Variable(P0)                                           # float64
    opt = getattr(tf.keras.optimizers, name)(**kwargs)
    out = []
    for g in GRADS:
        opt.apply_gradients([(tf.constant(g), v)])
        out.append(v.numpy().ravel().copy())
    return np.array(out)


def run_gluon(name: str, kwargs: dict) -> np.ndarray:
    from mxnet import autograd, gluon, init
    from mxnet import np as mnp
    p = gluon.Parameter('w', shape=P0.shape, init=init.Zero())   # float32: Gluon states are
    p.initialize()                                                # created float32 regardless
    p.set_data(mnp.array(P0, dtype='float32'))
    trainer = gluon.Trainer([p], name, dict(kwargs))
    out = []
    for g in GRADS:
        with autograd.record():
            loss = (p.data() * mnp.array(g, dtype='float32')).sum()   # d loss / d p = g
        loss.backward()
        trainer.step(1)
        out.append(p.data().asnumpy().ravel().astype(np.float64))
    return np.array(out)


RUNNERS = {'torch': run_torch, 'tensorflow': run_keras, 'mxnet': run_gluon}


@dataclass(frozen=True)
class Case:
    rule: str
    backend: str
    builtin: str           # torch.optim / tf.keras.optimizers class, or Gluon trainer name
    kwargs: dict
    steps_bound: float     # max |delta param| over 20 steps
    airfoil_bound: float   # max |delta loss| over the airfoil curve
    reason: str


CASES = [
    # ------------------------------------------------------------------ PyTorch
    Case('sgd', 'torch', 'SGD', {'lr': 0.05}, EXACT, 1e-6, 'same update'),
    Case('momentum', 'torch', 'SGD', {'lr': 0.005, 'momentum': 0.9}, EXACT, 1e-6,
         'same update: v <- beta v + g, x <- x - eta v (dampening 0)'),
    Case('adagrad', 'torch', 'Adagrad', {'lr': 0.1, 'eps': 1e-6}, 1e-6, 1e-5,
         'eps is added outside the square root, eta g / (sqrt(s) + eps), the core adds it inside; '
         'no eps value removes the difference, which grows as s shrinks'),
    Case('rmsprop', 'torch', 'RMSprop', {'lr': 0.01, 'alpha': 0.9, 'eps': 1e-6}, 2e-6, 5e-5,
         'eps outside the square root, as for Adagrad; gamma is called alpha (default 0.99)'),
    Case('adadelta', 'torch', 'Adadelta', {'lr': 1.0, 'rho': 0.9, 'eps': 1e-5}, EXACT, 1e-6,
         "same update when lr = 1.0 (PyTorch's default) multiplies the rescaled step"),
    Case('adam', 'torch', 'Adam', {'lr': 0.01, 'betas': (0.9, 0.999), 'eps': 1e-6}, EXACT, 1e-6,
         'same update: eps added after the bias correction (default 1e-8, the core 1e-6)'),
    # ------------------------------------------------------------------ Keras 3
    Case('sgd', 'tensorflow', 'SGD', {'learning_rate': 0.05}, KERAS, 1e-6,
         'same update (learning_rate rounded to float32)'),
    Case('momentum', 'tensorflow', 'SGD', {'learning_rate': 0.005, 'momentum': 0.9}, KERAS, 1e-6,
         'Keras keeps eta in the velocity, m <- beta m - eta g; equal while eta is constant'),
    Case('adagrad', 'tensorflow', 'Adagrad',
         {'learning_rate': 0.1, 'initial_accumulator_value': 0.0, 'epsilon': 1e-6}, KERAS, 1e-6,
         'same update once the accumulator starts at 0 (Keras default 0.1) and epsilon is 1e-6'),
    Case('rmsprop', 'tensorflow', 'RMSprop', {'learning_rate': 0.01, 'rho': 0.9, 'epsilon': 1e-6},
         KERAS, 1e-6, 'same update: Keras 3 adds epsilon inside the square root; gamma is rho'),
    Case('adadelta', 'tensorflow', 'Adadelta', {'learning_rate': 1.0, 'rho': 0.9, 'epsilon': 1e-5},
         EXACT, 1e-6, 'same update with learning_rate 1.0 (Keras default 0.001, the book 5.0)'),
    Case('adam', 'tensorflow', 'Adam',
         {'learning_rate': 0.01, 'beta_1': 0.9, 'beta_2': 0.999, 'epsilon': 1e-7}, 1e-6, 3e-6,
         '"epsilon hat": epsilon is added before the bias correction, so it acts as '
         'epsilon / sqrt(1 - beta2^t) in the core form: 1e-7 (the Keras default) is 3.2e-6 at t = 1, '
         '1e-6 at t = 10, 2e-7 at t = 300; no constant matches every step'),
    # ------------------------------------------------------------------ Gluon
    Case('sgd', 'mxnet', 'sgd', {'learning_rate': 0.05}, F32, 1e-6, 'same update'),
    Case('momentum', 'mxnet', 'sgd', {'learning_rate': 0.005, 'momentum': 0.9}, F32, 1e-6,
         'Gluon keeps eta in the velocity, as Keras; equal while eta is constant'),
    Case('adagrad', 'mxnet', 'adagrad', {'learning_rate': 0.1, 'eps': 1e-6}, F32, 1e-6,
         'same update: eps inside the square root (default 1e-7)'),
    Case('rmsprop', 'mxnet', 'rmsprop', {'learning_rate': 0.01, 'gamma1': 0.9, 'epsilon': 1e-6},
         F32, 1e-6, 'same update: epsilon inside the square root; gamma is gamma1'),
    Case('adadelta', 'mxnet', 'adadelta', {'rho': 0.9, 'epsilon': 1e-5}, F32, 1e-6,
         'same update; Gluon has no learning rate for Adadelta either'),
    Case('adam', 'mxnet', 'adam', {'learning_rate': 0.01, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-7},
         1e-6, 3e-6, '"epsilon hat", as Keras (epsilon 1e-7 acts as 3.2e-6 at t = 1, 2e-7 at t = 300)'),
]
# Yogi has no built-in in PyTorch 2.13, Keras 3.15 or MXNet 1.9 (TensorFlow Addons, which had
# one, is retired): the core rule is the only implementation here.


def _ids(case: Case) -> str:
    return f'{case.rule}-{case.backend}'


def measure_steps(case: Case) -> float:
    return float(np.max(np.abs(RUNNERS[case.backend](case.builtin, case.kwargs) - scratch(case.rule))))


@pytest.mark.parametrize('case', CASES, ids=_ids)
def test_builtin_matches_core_rule_step_by_step(case):
    load_or_skip(case.backend)      # also applies MXNet's numpy fix first
    diff = measure_steps(case)
    assert diff <= case.steps_bound, f'{case.reason}: max |delta| {diff:.3g} > {case.steps_bound}'


_numpy_curves: dict = {}


def _numpy_curve(rule: str) -> np.ndarray:
    if rule not in _numpy_curves:
        from d2l_optim.backends import numpy as d2l
        data_iter, fd = d2l.get_data_ch11(10)
        r = RULES[rule]
        states = getattr(d2l, r.init_name)(fd) if r.n_states else None
        run = d2l.fit_ch11(getattr(d2l, r.book_name), states, dict(r.defaults), data_iter, fd, seed=0)
        _numpy_curves[rule] = np.array(run.losses)
    return _numpy_curves[rule]


def _builtin(backend: str, name: str):
    if backend == 'torch':
        import torch
        return getattr(torch.optim, name)
    if backend == 'tensorflow':
        import tensorflow as tf
        return getattr(tf.keras.optimizers, name)
    return name


def measure_airfoil(case: Case) -> float:
    d2l = load_backend(case.backend)
    data_iter, _ = d2l.get_data_ch11(10)
    run = d2l.fit_concise_ch11(_builtin(case.backend, case.builtin), dict(case.kwargs), data_iter, seed=0)
    return float(np.max(np.abs(np.array(run.losses) - _numpy_curve(case.rule))))


@pytest.mark.parametrize('case', CASES, ids=_ids)
def test_builtin_draws_the_scratch_curve_on_airfoil(case):
    load_or_skip(case.backend)      # also applies MXNet's numpy fix first
    diff = measure_airfoil(case)
    assert diff <= case.airfoil_bound, f'{case.reason}: max |delta loss| {diff:.3g} > {case.airfoil_bound}'


# ---------------------------------------------------------------- the defaults that differ

@pytest.mark.parametrize('backend, builtin, kwargs, rule, at_least, why', [
    ('tensorflow', 'Adagrad', {'learning_rate': 0.1, 'epsilon': 1e-6}, 'adagrad', 1e-3,
     'Keras starts the accumulator at 0.1: early steps are smaller'),
    ('tensorflow', 'Adadelta', {'rho': 0.9, 'epsilon': 1e-5}, 'adadelta', 1e-3,
     'Keras multiplies the step by learning_rate 0.001 by default'),
    ('torch', 'RMSprop', {'lr': 0.01, 'alpha': 0.99}, 'rmsprop', 1e-3,
     "PyTorch's alpha defaults to 0.99, the book's gamma is 0.9"),
])
def test_framework_defaults_that_do_not_match(backend, builtin, kwargs, rule, at_least, why):
    load_or_skip(backend)
    diff = float(np.max(np.abs(RUNNERS[backend](builtin, kwargs) - scratch(rule))))
    assert diff >= at_least, why


if __name__ == '__main__':      # the measured table for docs/scratch-vs-builtin.md
    for case in CASES:
        try:
            load_backend(case.backend)
        except BackendUnavailable:
            continue
        args = ', '.join(f'{k}={v}' for k, v in case.kwargs.items())
        print(f'| {case.rule} | {case.backend} | `{case.builtin}({args})` | '
              f'{measure_steps(case):.1e} | {measure_airfoil(case):.1e} | {case.reason} |')


def test_add_builtin_runs_prints_each_frameworks_gap_to_ours(capsys):
    """The notebooks' comparison (sections/cross_backend.add_builtin_runs): only frameworks
    already in ``runs``, seed 0, and the gap printed is the curves' real max difference."""
    load_or_skip('torch')           # the comparison needs a framework
    from d2l_optim.sections.airfoil_runs import train_scratch
    from d2l_optim.sections.cross_backend import add_builtin_runs
    runs = {b: train_scratch(load_backend(b), 'momentum', {'lr': 0.005, 'momentum': 0.9}, seed=0,
                             verbose=False) for b in ('numpy', 'torch')}
    add_builtin_runs(runs, {'torch': ('SGD', {'lr': 0.005, 'momentum': 0.9}, 'the same update'),
                            'caffe': ('SGD', {}, 'not in runs: skipped')})
    assert list(runs) == ['numpy', 'torch', 'torch built-in']
    gap = np.max(np.abs(np.subtract(runs['torch built-in'].losses, runs['numpy'].losses)))
    assert gap <= 1e-6
    assert capsys.readouterr().out == (f"     torch built-in SGD: final {runs['torch built-in'].final_loss:.4f}, "
                                       f"max |loss - ours| {gap:.1e}: the same update\n")
