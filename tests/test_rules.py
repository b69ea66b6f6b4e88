"""Each core rule against an independent hand-written loop (float64, 3 steps), and validation."""
import math

import numpy as np
import pytest

from d2l_optim.ops import numpy_ops, scalar_ops
from d2l_optim.rules import RULES, apply_rule, get_rule, validate_hyperparams

RNG = np.random.default_rng(42)
P0 = RNG.normal(size=(4, 3))
GRADS = [RNG.normal(size=(4, 3)) for _ in range(3)]


def reference(name, hp):
    """The book's equations, written out again by hand with NumPy."""
    p = P0.copy()
    a, b = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(GRADS, start=1):
        if name == 'sgd':
            p = p - hp['lr'] * g
        elif name == 'momentum':
            a = hp['momentum'] * a + g
            p = p - hp['lr'] * a
        elif name == 'adagrad':
            a = a + g ** 2
            p = p - hp['lr'] * g / np.sqrt(a + 1e-6)
        elif name == 'rmsprop':
            a = hp['gamma'] * a + (1 - hp['gamma']) * g ** 2
            p = p - hp['lr'] * g / np.sqrt(a + 1e-6)
        elif name == 'adadelta':
            a = hp['rho'] * a + (1 - hp['rho']) * g ** 2
            step = np.sqrt(b + 1e-5) / np.sqrt(a + 1e-5) * g
            p = p - step
            b = hp['rho'] * b + (1 - hp['rho']) * step ** 2
        elif name in ('adam', 'yogi'):
            a = 0.9 * a + 0.1 * g
            if name == 'adam':
                b = 0.999 * b + 0.001 * g ** 2
            else:
                b = b + 0.001 * np.sign(g ** 2 - b) * g ** 2
            eps = 1e-6 if name == 'adam' else 1e-3
            p = p - hp['lr'] * (a / (1 - 0.9 ** t)) / (np.sqrt(b / (1 - 0.999 ** t)) + eps)
    return p


@pytest.mark.parametrize('name', list(RULES))
def test_rule_matches_hand_written_loop(name):
    rule = RULES[name]
    hp = dict(rule.defaults)
    params, states = [P0.copy()], None
    for g in GRADS:
        params, states = apply_rule(rule, params, [g], states, hp, numpy_ops)
    np.testing.assert_allclose(params[0], reference(name, hp), rtol=0, atol=1e-13)
    if rule.uses_t:
        assert hp['t'] == 4            # advanced once per step, from 1
    else:
        assert 't' not in hp


def test_golden_first_steps_by_hand():
    # From x = 1 with g = 2: numbers worked out on paper.
    one = lambda name, **hp: apply_rule(get_rule(name), [1.0], [2.0], None, hp, scalar_ops)[0][0]
    assert one('sgd', lr=0.1) == pytest.approx(0.8, abs=1e-15)
    assert one('momentum', lr=0.1, momentum=0.9) == pytest.approx(0.8, abs=1e-15)
    assert one('adagrad', lr=0.1) == pytest.approx(1 - 0.1 * 2 / math.sqrt(4 + 1e-6), abs=1e-15)
    assert one('rmsprop', lr=0.1, gamma=0.9) == pytest.approx(1 - 0.1 * 2 / math.sqrt(0.4 + 1e-6), abs=1e-15)
    # Adadelta's first step is sqrt(eps)/sqrt(s + eps) * g: tiny, because delta starts at 0.
    assert one('adadelta', rho=0.9) == pytest.approx(1 - math.sqrt(1e-5) / math.sqrt(0.4 + 1e-5) * 2, abs=1e-15)
    # Adam's first bias-corrected step is lr * g / (|g| + eps): almost exactly lr.
    assert one('adam', lr=0.1) == pytest.approx(1 - 0.1 * 2 / (2 + 1e-6), abs=1e-12)
    # Yogi from s = 0: s = 0.001 * g^2, the same first step as Adam but with eps 1e-3.
    assert one('yogi', lr=0.1) == pytest.approx(1 - 0.1 * 2 / (2 + 1e-3), abs=1e-12)


def test_book_state_layout():
    """One-state rules keep the bare array, two-state rules a tuple, as the book's init_*_states."""
    p, g = np.ones(2), np.ones(2)
    _, (s,) = apply_rule(RULES['rmsprop'], [p], [g], None, {'lr': 0.1, 'gamma': 0.9}, numpy_ops)
    np.testing.assert_allclose(s, 0.1)
    _, ((v, s),) = apply_rule(RULES['adam'], [p], [g], None, {'lr': 0.1}, numpy_ops)
    np.testing.assert_allclose(v, 0.1)
    np.testing.assert_allclose(s, 0.001)


def test_yogi_second_moment_moves_additively():
    """s <- s + (1 - beta2) sign(g^2 - s) g^2: up by 0.001 g^2 while g^2 > s, down once g^2 < s."""
    hp, state = {'lr': 0.1}, None
    _, state = apply_rule(RULES['yogi'], [1.0], [3.0], state, hp, scalar_ops)
    assert state[0][1] == pytest.approx(0.009, abs=1e-15)
    _, state = apply_rule(RULES['yogi'], [1.0], [0.05], state, hp, scalar_ops)
    assert state[0][1] == pytest.approx(0.009 - 0.001 * 0.0025, abs=1e-15)   # Adam would give 0.0090185


@pytest.mark.parametrize('bad, message', [
    ({'lr': 0}, 'lr must be > 0'),
    ({'lr': -0.1}, 'lr must be > 0'),
    ({'lr': 0.1, 'gamma': 1.0}, r'gamma must be in \[0, 1\)'),
    ({'rho': -0.1}, r'rho must be in \[0, 1\)'),
    ({'lr': 0.1, 'beta1': 1.5}, r'beta1 must be in \[0, 1\)'),
    ({'lr': 0.1, 'momentum': 1}, r'momentum must be in \[0, 1\)'),
    ({'lr': 0.1, 't': 0}, 't counts steps from 1'),
])
def test_invalid_hyperparams_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        validate_hyperparams(bad)


def test_missing_hyperparam_names_the_book_values():
    with pytest.raises(ValueError, match=r"rmsprop needs hyperparameter\(s\) \['gamma'\]"):
        validate_hyperparams({'lr': 0.01}, RULES['rmsprop'])


def test_unknown_optimizer_lists_valid_names():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'; choose one of: sgd, momentum"):
        get_rule('adamw')
    assert get_rule('sgd_momentum') is RULES['momentum']
