"""The NumPy backend on the airfoil data: the book's hyperparameters land near the optimum."""
import subprocess
import sys

import numpy as np
import pytest

from d2l_optim import DivergenceError
from d2l_optim.backends import numpy as d2l
from d2l_optim.data import read_airfoil
from d2l_optim.airfoil import linreg_gradients

OPTIMUM = 0.24169    # least-squares optimum of 1/2 (Xw + b - y)^2 on the first 1500 rows


def test_least_squares_optimum():
    data = read_airfoil()[:1500].astype(np.float64)
    A = np.hstack([data[:, :5], np.ones((1500, 1))])
    coef, *_ = np.linalg.lstsq(A, data[:, 5], rcond=None)
    assert np.mean((A @ coef - data[:, 5]) ** 2) / 2 == pytest.approx(OPTIMUM, abs=5e-6)


def test_every_rule_lands_near_the_optimum_for_5_seeds(book_rule, capsys):
    """The book's scratch call of each rule, with the book's hyperparameters."""
    finals = []
    for seed in range(5):
        data_iter, feature_dim = d2l.get_data_ch11(10)
        states = getattr(d2l, book_rule.init_name)(feature_dim) if book_rule.n_states else None
        _, losses = d2l.train_ch11(getattr(d2l, book_rule.book_name), states, dict(book_rule.defaults),
                                   data_iter, feature_dim, seed=seed)
        assert len(losses) == 15                        # every 200 examples over 2 epochs
        finals.append(losses[-1])
    assert all(OPTIMUM - 1e-4 <= f <= 0.26 for f in finals), finals
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and all(l.startswith('loss: 0.2') and l.endswith(' sec/epoch') for l in lines)


def test_seed_repeats_exactly_and_differs_between_seeds():
    runs = []
    for seed in (3, 3, 4):
        data_iter, fd = d2l.get_data_ch11(10)
        runs.append(d2l.fit_ch11(d2l.rmsprop, d2l.init_rmsprop_states(fd), {'lr': 0.01, 'gamma': 0.9},
                                 data_iter, fd, seed=seed).losses)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_run_record_and_timing_fields():
    data_iter, fd = d2l.get_data_ch11(100)
    run = d2l.fit_ch11(d2l.adam, d2l.init_adam_states(fd), {'lr': 0.01}, data_iter, fd, 3, seed=0)
    assert run.x == pytest.approx([(i + 1) * 2 / 15 for i in range(22)])  # epochs at each 200 examples
    assert len(run.times) == 22 and run.times == sorted(run.times)
    assert 0 < run.sec_per_epoch < run.wall_s
    j = run.to_json()
    assert set(j) == {'backend', 'optimizer', 'hyperparams', 'epochs', 'losses', 'final_loss',
                      'sec_per_epoch', 'wall_s'}
    assert j['optimizer'] == 'adam' and j['final_loss'] == run.losses[-1]


def test_analytic_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(7, 5)), rng.normal(size=7)
    w, b = rng.normal(size=(5, 1)), np.array([0.3])
    loss = lambda w, b: np.mean(((X @ w + b).ravel() - y) ** 2) / 2
    gw, gb = linreg_gradients(X, y, w, b)
    h = 1e-6
    for i in range(5):
        e = np.zeros_like(w)
        e[i] = h
        assert gw[i, 0] == pytest.approx((loss(w + e, b) - loss(w - e, b)) / (2 * h), rel=1e-6)
    assert gb[0] == pytest.approx((loss(w, b + h) - loss(w, b - h)) / (2 * h), rel=1e-6)


def test_divergence_stops_with_the_epoch_and_a_hint():
    data_iter, fd = d2l.get_data_ch11(10)
    with pytest.raises(DivergenceError, match=r'the loss became (inf|nan) in epoch 1 .*try a smaller learning rate'):
        with np.errstate(all='ignore'):
            d2l.train_ch11(d2l.sgd, None, {'lr': 50.0}, data_iter, fd, seed=0)


def test_bad_hyperparams_fail_before_training():
    data_iter, fd = d2l.get_data_ch11(10)
    with pytest.raises(ValueError, match=r'gamma must be in \[0, 1\), got 1.2'):
        d2l.train_ch11(d2l.rmsprop, d2l.init_rmsprop_states(fd), {'lr': 0.01, 'gamma': 1.2}, data_iter, fd)


def test_concise_numpy_uses_the_core_rule():
    data_iter, fd = d2l.get_data_ch11(10)
    scratch = d2l.fit_ch11(d2l.rmsprop, d2l.init_rmsprop_states(fd), {'lr': 0.01, 'gamma': 0.9},
                           data_iter, fd, seed=0).losses
    concise = d2l.fit_concise_ch11('rmsprop', {'lr': 0.01, 'gamma': 0.9}, data_iter, seed=0).losses
    np.testing.assert_allclose(concise, scratch, atol=1e-6)


def test_importing_core_and_numpy_backend_imports_no_framework():
    code = ('import sys, d2l_optim, d2l_optim.backends.numpy as d2l; '
            'd2l.get_data_ch11(10); '
            'print(sorted(m for m in ("torch", "tensorflow", "mxnet", "matplotlib") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'
