r"""README.md's "Add a rule" and "Add a backend", followed step by step.

A toy rule, signSGD (:math:`x \leftarrow x - \eta\,\mathrm{sign}(g)`), added the documented way
trains with ``train_ch11`` on every installed backend, draws NumPy's curve there, and ``check``
passes a learner's copy of it and names a flipped sign. A toy backend (``tests/toy_backend.py``,
NumPy arrays again) registered the documented way trains every rule to NumPy's losses and runs
``check`` and the command line.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import load_or_skip
from d2l_optim.backend import (BACKENDS, FRAMEWORK, backend_record, installed_backends, load_backend,
                               register_backend)
from d2l_optim.book import book_optimizer
from d2l_optim.book_api import book_api
from d2l_optim.checker import check
from d2l_optim.cli import main
from d2l_optim.rules import RULES, Rule, fills, get_rule

OPTIMUM, GOOD = 0.2417, 0.26        # least-squares optimum (0.24169) and the book's "converged"


# ---------------------------------------------------------------- Add a rule

# Step 1: the body, in the book's notation.
def signsgd(p, g, state, hp, t, xp):
    r"""signSGD (Bernstein et al. 2018): a step of lr in the direction of each gradient's sign.

    .. math:: \mathbf{x} \leftarrow \mathbf{x} - \eta \operatorname{sign}(\mathbf{g})
    """
    return p - hp['lr'] * xp.sign(g), state


# Step 2: its Rule, with its facts.
SIGNSGD = Rule('signsgd', fills(signsgd), None, {'lr': 0.01}, ('lr',), book_name='signsgd')


@pytest.fixture
def listed(monkeypatch):
    """Step 3: the rule listed in RULES, as its line in rules.py lists it (for this test only)."""
    monkeypatch.setitem(RULES, SIGNSGD.name, SIGNSGD)
    return SIGNSGD


def train_signsgd(d2l) -> list:
    """Step 4: the book's cell, with the optimizer the adapter offers once RULES lists the rule
    (``book_api`` builds an adapter's names from RULES when the adapter is imported)."""
    signsgd_book = book_api(d2l.BACKEND)['signsgd']
    data_iter, feature_dim = d2l.get_data_ch11(10)
    _, losses = d2l.train_ch11(signsgd_book, None, {'lr': 0.01}, data_iter, feature_dim, seed=0)
    return losses


def test_a_new_rule_trains_on_every_backend_and_draws_numpys_curve(d2l, listed, capsys):
    api = book_api(d2l.BACKEND)
    assert api['signsgd'].rule is SIGNSGD and 'init_signsgd_states' not in api    # no state
    assert get_rule('signsgd') is SIGNSGD
    losses = train_signsgd(d2l)
    assert capsys.readouterr().out.startswith('loss: 0.251, ')      # NumPy's 0.250977
    reference = train_signsgd(load_or_skip('numpy'))
    assert len(losses) == len(reference) == 15
    assert np.max(np.abs(np.array(losses) - reference)) <= 1e-4
    assert OPTIMUM <= losses[-1] <= GOOD


def test_check_passes_a_learners_signsgd_and_names_a_flipped_sign(d2l, listed):
    def my_signsgd(p, g, state, hp, t, xp):
        return p - hp['lr'] * xp.sign(g), state

    def uphill(p, g, state, hp, t, xp):
        return p + hp['lr'] * xp.sign(g), state

    good = d2l.check(my_signsgd, SIGNSGD)
    assert good.passed and good.mistake is None and good.max_abs_error <= 1e-6, good.message
    assert d2l.check(my_signsgd, 'signsgd').passed                 # by name, once listed
    bad = d2l.check(uphill, SIGNSGD)
    assert not bad.passed and bad.mistake == 'wrong_sign' and bad.first_bad_step == 1, bad.message


def test_the_rules_facts_are_what_the_library_reads():
    assert SIGNSGD.hyperparams == ('lr',) and SIGNSGD.fallbacks == {}
    assert SIGNSGD.n_states == 0 and SIGNSGD.state_names == () and SIGNSGD.init_name == ''
    assert SIGNSGD.init(np.ones(3), None) == ()
    assert SIGNSGD.update.__doc__ == signsgd.__doc__                 # show_doc shows the body's
    d2l = load_or_skip('numpy')
    data_iter, feature_dim = d2l.get_data_ch11(10)
    unlisted = book_optimizer(SIGNSGD, d2l.BACKEND)                # a rule kept out of RULES
    needs = r"signsgd needs hyperparameter\(s\) \['lr'\]; the book uses \{'lr': 0.01\}"
    with pytest.raises(ValueError, match=needs):                     # required, with its default
        d2l.train_ch11(unlisted, None, {}, data_iter, feature_dim)


# ---------------------------------------------------------------- Add a backend

@pytest.fixture
def toy():
    """Steps 1-2: tests/toy_backend.py registered as 'toy' (and forgotten after the test)."""
    register_backend('toy', 'toy_backend', 'pip install numpy', 'numpy')
    try:
        yield load_backend('toy')
    finally:
        del BACKENDS['toy'], FRAMEWORK['toy']


def test_a_registered_backend_trains_every_rule_to_numpys_losses(toy, book_rule):
    assert 'toy' in installed_backends() and backend_record('toy') is toy.BACKEND
    curves = []
    for d2l in (toy, load_or_skip('numpy')):
        data_iter, feature_dim = d2l.get_data_ch11(10)
        states = getattr(d2l, book_rule.init_name)(feature_dim) if book_rule.n_states else None
        run = d2l.fit_ch11(getattr(d2l, book_rule.book_name), states, dict(book_rule.defaults),
                           data_iter, feature_dim, seed=0)
        curves.append(np.array(run.losses))
    assert len(curves[0]) == 15
    assert np.max(np.abs(curves[0] - curves[1])) <= 1e-6


def test_check_and_the_command_line_run_on_a_registered_backend(toy, capsys):
    def rmsprop(params, grads, states, hyperparams):       # the book's NumPy-style optimizer
        gamma, eps = hyperparams['gamma'], 1e-6
        for p, s, g in zip(params, states, grads):
            s[:] = gamma * s + (1 - gamma) * g * g
            p[:] -= hyperparams['lr'] * g / np.sqrt(s + eps)

    def rmsprop_eps_outside(params, grads, states, hyperparams):
        gamma, eps = hyperparams['gamma'], 1e-6
        for p, s, g in zip(params, states, grads):
            s[:] = gamma * s + (1 - gamma) * g * g
            p[:] -= hyperparams['lr'] * g / (np.sqrt(s) + eps)

    assert check(rmsprop, 'rmsprop', backend='toy').passed
    assert check(rmsprop_eps_outside, 'rmsprop', backend='toy').mistake == 'eps_outside_sqrt'
    assert main(['run', 'rmsprop', '--backend', 'toy', '--seed', '0']) == 0
    numpy_line = capsys.readouterr().out
    assert main(['run', 'rmsprop', '--backend', 'numpy', '--seed', '0']) == 0
    assert capsys.readouterr().out.split(',')[0] == numpy_line.split(',')[0] == 'loss: 0.245'


def test_a_registered_name_is_not_taken_twice():
    with pytest.raises(ValueError, match="backend 'numpy' is already d2l_optim.backends.numpy; "
                                         "register toy_backend under another name"):
        register_backend('numpy', 'toy_backend', 'pip install numpy', 'numpy')
    assert BACKENDS['numpy'][0] == 'd2l_optim.backends.numpy'
