"""Each core rule against an independent hand-written loop (float64, 3 steps), and validation."""
import dataclasses
import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest

from d2l_optim import rules
from d2l_optim.hyperparams import unknown_keys, validate_hyperparams
from d2l_optim.ops import numpy_ops, scalar_ops
from d2l_optim.rules import RULES, apply_rule, get_rule

from conftest import ALL_RULES

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


@pytest.mark.parametrize('key', ['lr', 'momentum', 'gamma', 'rho', 'beta1', 'beta2', 'eps'])
@pytest.mark.parametrize('value', [math.nan, math.inf, -math.inf])
def test_non_finite_hyperparams_are_rejected_by_name(key, value):
    with pytest.raises(ValueError) as info:
        validate_hyperparams({key: value})
    text = str(info.value)
    assert text.startswith(f'{key} must be a finite number, got {value!r}; e.g. {key}='), text
    assert len(text.splitlines()) == 1
    rule = next(r for r in RULES.values() if key in r.hyperparams)     # with a rule: its own value
    with pytest.raises(ValueError, match=f"{key}={rule.defaults.get(key, rule.eps)!r}"):
        validate_hyperparams({**rule.defaults, key: value}, rule)


def test_unknown_keys_warn_in_training_and_are_errors_where_asked():
    rule = RULES['rmsprop']
    with pytest.warns(UserWarning, match="'gama' is not used by rmsprop; did you mean 'gamma'"):
        validate_hyperparams({'lr': 0.01, 'gamma': 0.9, 'gama': 0.9}, rule)
    with pytest.raises(ValueError, match="'gama' is not used by rmsprop; did you mean 'gamma'"):
        validate_hyperparams({'lr': 0.01, 'gamma': 0.9, 'gama': 0.9}, rule, unknown='error')
    assert unknown_keys({'eta': 0.1, 'beta': 0.9, 'lr': 0.1}, RULES['momentum']) == [
        ('eta', "did you mean 'lr'?"), ('beta', "did you mean 'momentum'?")]


def test_missing_hyperparam_names_the_book_values():
    with pytest.raises(ValueError, match=r"rmsprop needs hyperparameter\(s\) \['gamma'\]"):
        validate_hyperparams({'lr': 0.01}, RULES['rmsprop'])


def test_unknown_optimizer_lists_valid_names():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'; choose one of: sgd, momentum"):
        get_rule('adamw')
    assert get_rule('sgd_momentum') is RULES['momentum']


# ---------------------------------------------------------------- a rule carries its own facts

#: the book's facts, written out once more: optimizer name, state initialiser, state fields, eps
BOOK_FACTS = {
    'sgd': ('sgd', '', (), None),
    'momentum': ('sgd_momentum', 'init_momentum_states', ('v',), None),
    'adagrad': ('adagrad', 'init_adagrad_states', ('s',), 1e-6),
    'rmsprop': ('rmsprop', 'init_rmsprop_states', ('s',), 1e-6),
    'adadelta': ('adadelta', 'init_adadelta_states', ('s', 'delta'), 1e-5),
    'adam': ('adam', 'init_adam_states', ('v', 's'), 1e-6),
    'yogi': ('yogi', 'init_yogi_states', ('v', 's'), 1e-3),
}


@pytest.mark.parametrize('name', list(RULES))
def test_each_rule_carries_the_books_names_state_fields_and_eps(name):
    from d2l_optim.backends import numpy as d2l
    rule = RULES[name]
    assert (rule.book_name, rule.init_name, rule.state_names, rule.eps) == BOOK_FACTS[name]
    assert rule.n_states == len(rule.state_names)
    assert rule.hyperparams == (*rule.defaults, *(['eps'] if rule.eps is not None else []))
    optimizer = getattr(d2l, rule.book_name)          # the d2l API exposes the rule under its book name
    assert optimizer.rule is rule and optimizer.__name__ == rule.book_name
    if rule.n_states:
        init = getattr(d2l, rule.init_name)
        assert init.__name__ == rule.init_name
        w_state, b_state = init(5)
        assert len(w_state if rule.n_states > 1 else (w_state,)) == rule.n_states
    else:
        assert not [n for n in dir(d2l) if n == f'init_{name}_states']
    # init and update give the rule's state record, its fields named as in the book
    p, g = np.ones(3), np.full(3, 0.5)
    state = rule.init(p, numpy_ops)
    assert state == () if rule.state is None else (type(state) is rule.state and state._fields == rule.state_names)
    _, new = rule.update(p, g, state, dict(rule.defaults), 1, numpy_ops)
    assert new == () if rule.state is None else type(new) is rule.state


def test_yogi_carries_the_tensorflow_tabs_eps_as_an_alternative():
    assert RULES['yogi'].eps_alternatives == (1e-6,)
    assert all(r.eps_alternatives == () for n, r in RULES.items() if n != 'yogi')


@pytest.mark.parametrize('name', ['adagrad', 'rmsprop', 'adadelta', 'adam', 'yogi'])
def test_a_body_reads_eps_and_betas_which_its_rule_fills_in(name):
    """The library's update fills hp from the rule (eps, Adam's betas); hp's own values win."""
    rule = RULES[name]
    p, g, state = P0.copy(), GRADS[0], rule.init(P0, numpy_ops)
    step = lambda r, **hp: r.update(p, g, state, {**r.defaults, **hp}, 2, numpy_ops)[0]  # noqa: E731
    given = step(rule, eps=rule.eps, **{k: v for k, v in rule.defaults.items() if k.startswith('beta')})
    np.testing.assert_array_equal(step(rule), given)
    assert not np.array_equal(step(rule, eps=10 * rule.eps), given)
    # the module's name is the filled update: rules.adam(p, g, state, {'lr': 0.01}, ...) runs
    np.testing.assert_array_equal(getattr(rules, name)(p, g, state, dict(rule.defaults), 2, numpy_ops)[0], given)
    # another eps on the rule is another fill
    other = dataclasses.replace(rule, eps=10 * rule.eps)
    np.testing.assert_array_equal(step(other), step(rule, eps=10 * rule.eps))
    assert rule.update(p, g, state, dict(rule.defaults), 2, numpy_ops)[0].shape == p.shape


@pytest.mark.parametrize('name', list(RULES))
def test_a_learners_function_gets_exactly_the_hyperparams_it_is_given(name):
    """dataclasses.replace(rule, update=fn), as book_form and check do: nothing added to hp."""
    seen = []

    def learner(p, g, state, hp, t, xp):
        seen.append(dict(hp))
        return RULES[name].update(p, g, state, hp, t, xp)

    hp = dict(RULES[name].defaults)
    apply_rule(dataclasses.replace(RULES[name], update=learner), [P0.copy()], [GRADS[0]], None, hp, numpy_ops)
    assert seen == [{**RULES[name].defaults, **({'t': 1} if RULES[name].uses_t else {})}]
    assert 'eps' not in seen[0]


def test_rule_bodies_carry_no_constants_and_show_as_written():
    """No eps or beta default inside a body; inspect.getsource shows the body, not the fill."""
    for rule in ALL_RULES:
        source = inspect.getsource(rule.update)
        assert source.startswith(f'def {rule.update.__name__}(p, g, state, hp, t, xp):'), rule.name
        code = source.split('"""')[-1]
        assert 'hp.get(' not in code and 'e-' not in code and '0.9' not in code, rule.name
    assert 'hp.get(' not in inspect.getsource(rules._adam_step)


def test_no_side_table_of_rule_facts_is_left():
    """BOOK_NAMES, STATE_NAMES, BOOK_EPS, the key recorder and hand-built init names are gone."""
    root = Path(rules.__file__).parent
    files = [*root.rglob('*.py'), *(root.parent / 'backends').rglob('*.py')]
    found = [f'{path.relative_to(root.parent)}: {word}' for path in files
             for word in ('BOOK_NAMES', 'STATE_NAMES', 'BOOK_EPS', '_KeyRecorder') if word in path.read_text()]
    # the bodies (the rules and the mistakes' formulas) read eps and the betas without a default
    found += [str(path) for path in (root / 'rules.py', root / 'mistakes' / 'variants.py')
              if 'hp.get(' in path.read_text()]
    built = [str(path.relative_to(root.parent)) for path in files
             if path != Path(rules.__file__) and re.search(r"init_\{|_states'\)|_states\"\)", path.read_text())]
    assert not found and not built, found + built
