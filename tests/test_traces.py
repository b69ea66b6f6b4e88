"""The book's deterministic printed traces, digit for digit, through the core harnesses."""
import numpy as np
import pytest

from d2l_optim.trajectories import gd_1d, newton, train_2d, trainer_2d


def last_line(capsys):
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.mark.parametrize('eta, expected', [(0.2, '0.060466'), (0.05, '3.486784'), (1.1, '61.917364')])
def test_11_3_gd_on_x_squared(capsys, eta, expected):
    results = gd_1d(eta, lambda x: 2 * x)
    assert last_line(capsys) == f'epoch 10, x: {expected}'
    assert len(results) == 11 and results[0] == 10.0


def test_11_3_gd_2d(capsys):
    train_2d(trainer_2d('sgd', lambda x1, x2: (2 * x1, 4 * x2), eta=0.1))
    assert last_line(capsys) == 'epoch 20, x1: -0.057646, x2: -0.000073'


GRAD_11_6 = lambda x1, x2: (0.2 * x1, 4 * x2)   # f = 0.1 x1^2 + 2 x2^2


@pytest.mark.parametrize('name, hp, expected', [
    ('sgd', {'eta': 0.4}, 'x1: -0.943467, x2: -0.000073'),
    ('sgd', {'eta': 0.6}, 'x1: -0.387814, x2: -1673.365109'),
    ('momentum', {'eta': 0.6, 'momentum': 0.5}, 'x1: 0.007188, x2: 0.002553'),
    ('momentum', {'eta': 0.6, 'momentum': 0.25}, 'x1: -0.126340, x2: -0.186632'),
    ('adagrad', {'eta': 0.4}, 'x1: -2.382563, x2: -0.158591'),
    ('adagrad', {'eta': 2}, 'x1: -0.002295, x2: -0.000000'),
    ('rmsprop', {'eta': 0.4, 'gamma': 0.9}, 'x1: -0.010599, x2: 0.000000'),
])
def test_2d_traces_of_11_6_to_11_8(capsys, name, hp, expected):
    results = train_2d(trainer_2d(name, GRAD_11_6, **hp))
    assert last_line(capsys) == f'epoch 20, {expected}'
    assert len(results) == 21 and results[0] == (-5.0, -2.0)


def test_f_grad_passed_through_train_2d(capsys):
    """The book's 11.4 form: train_2d(trainer, steps, f_grad) hands f_grad to the trainer."""
    train_2d(trainer_2d('sgd', eta=0.1), steps=20, f_grad=lambda x1, x2: (2 * x1, 4 * x2))
    assert last_line(capsys) == 'epoch 20, x1: -0.057646, x2: -0.000073'


def test_11_3_newton(capsys):
    c = np.float32(0.5)
    newton(1, lambda x: c * np.sinh(c * x), lambda x: c ** 2 * np.cosh(c * x))
    assert last_line(capsys) == 'epoch 10, x: 0.000000'
    c = np.float32(0.15 * np.pi)
    f_grad = lambda x: np.cos(c * x) - c * x * np.sin(c * x)
    f_hess = lambda x: -2 * c * np.sin(c * x) - x * c ** 2 * np.cos(c * x)
    newton(1, f_grad, f_hess)
    assert last_line(capsys) == 'epoch 10, x: 26.834133'
    results = newton(0.5, f_grad, f_hess)
    assert last_line(capsys) == 'epoch 10, x: 7.269860'   # TensorFlow prints it as 7.26986
    assert np.float32(results[-1]) == np.float32(7.26986)
