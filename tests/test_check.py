"""check(fn, rule): the core rules pass in every form on every backend; each known mistake,
written the way a learner writes it, gets exactly its code; unknown ones get None and the
right first bad step; bad returns get a message, never a traceback."""
import inspect
import json
import math
import re
import sys

import numpy as np
import pytest

import d2l_optim
from d2l_optim import check
from d2l_optim import checker
from d2l_optim.book import book_optimizer
from d2l_optim.checker import TRACE_ENV, MIME_TYPE
from d2l_optim.trajectories import trainer_2d
from d2l_optim.mistakes import CODES
from d2l_optim.rules import EXTRA_RULES, RULES

from conftest import ALL_RULES, load_or_skip



def _f_ill_grad(x1, x2):
    return 0.2 * x1, 4 * x2


@pytest.mark.parametrize('backend', ['numpy', 'torch', 'tensorflow', 'mxnet', 'jax'])
@pytest.mark.parametrize('rule', ALL_RULES, ids=lambda r: r.name)
def test_core_rule_passes_in_all_three_forms(backend, rule):
    d2l = load_or_skip(backend)
    forms = {
        'rule': rule.update,
        'book': book_optimizer(rule, d2l.BACKEND),
        '2d': trainer_2d(rule, _f_ill_grad, **rule.defaults),
    }
    for form, fn in forms.items():
        result = d2l.check(fn, rule if rule.name == 'nesterov' else rule.name)
        assert result.passed, (form, result.message)
        assert bool(result) and result.form == form and result.mistake is None
        assert result.first_bad_step is None
        assert result.max_abs_error <= 1e-5, (form, result.max_abs_error)


# ---------------------------------------------------------------- learners' mistakes (NumPy book form)

def rmsprop_eps_outside(params, grads, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-6
    for p, s, g in zip(params, states, grads):
        s[:] = gamma * s + (1 - gamma) * np.square(g)
        p[:] -= hyperparams['lr'] * g / (np.sqrt(s) + eps)


def rmsprop_torch_eps(params, grads, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-8          # PyTorch's default, outside the root
    for p, s, g in zip(params, states, grads):
        s[:] = gamma * s + (1 - gamma) * np.square(g)
        p[:] -= hyperparams['lr'] * g / (np.sqrt(s) + eps)


def rmsprop_eps_1e8(params, grads, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-8
    for p, s, g in zip(params, states, grads):
        s[:] = gamma * s + (1 - gamma) * np.square(g)
        p[:] -= hyperparams['lr'] * g / np.sqrt(s + eps)


def rmsprop_no_one_minus(params, grads, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-6
    for p, s, g in zip(params, states, grads):
        s[:] = gamma * s + np.square(g)
        p[:] -= hyperparams['lr'] * g / np.sqrt(s + eps)


def rmsprop_state_not_written(params, grads, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-6
    for p, s, g in zip(params, states, grads):
        s = gamma * s + (1 - gamma) * np.square(g)       # a new array: states keep their zeros
        p[:] -= hyperparams['lr'] * g / np.sqrt(s + eps)


def adam_no_bias_correction(params, grads, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * np.square(g)
        p[:] -= hyperparams['lr'] * v / (np.sqrt(s) + eps)
    hyperparams['t'] += 1


def adam_t_never_advanced(params, grads, states, hyperparams):
    """The book's TensorFlow Adam: hyperparams['t'] is read, never incremented."""
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * np.square(g)
        v_hat = v / (1 - beta1 ** hyperparams['t'])
        s_hat = s / (1 - beta2 ** hyperparams['t'])
        p[:] -= hyperparams['lr'] * v_hat / (np.sqrt(s_hat) + eps)


def adam_t_early(params, grads, states, hyperparams):
    hyperparams['t'] += 1                             # advanced before it is used
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * np.square(g)
        v_hat = v / (1 - beta1 ** hyperparams['t'])
        s_hat = s / (1 - beta2 ** hyperparams['t'])
        p[:] -= hyperparams['lr'] * v_hat / (np.sqrt(s_hat) + eps)


def adam_eps_inside(params, grads, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * np.square(g)
        v_hat = v / (1 - beta1 ** hyperparams['t'])
        s_hat = s / (1 - beta2 ** hyperparams['t'])
        p[:] -= hyperparams['lr'] * v_hat / np.sqrt(s_hat + eps)
    hyperparams['t'] += 1


def my_adam_t0(p, g, state, hp, t, xp):
    """A pure rule that counts steps from 0 (t - 1 at the first step)."""
    v, s = state
    step = t - 1
    v = 0.9 * v + 0.1 * g
    s = 0.999 * s + 0.001 * g * g
    v_hat = v / (1 - 0.9 ** step)
    s_hat = s / (1 - 0.999 ** step)
    return p - hp['lr'] * v_hat / (xp.sqrt(s_hat) + 1e-6), (v, s)


def sgd_uphill(params, grads, states, hyperparams):
    for p, g in zip(params, grads):
        p[:] += hyperparams['lr'] * g


def sgd_flips_its_grads(params, grads, states, hyperparams):
    for p, g in zip(params, grads):
        g[:] = -g                                 # written into the gradient it was given
        p[:] -= hyperparams['lr'] * g


def momentum_fixed_lr(params, grads, states, hyperparams):
    for p, v, g in zip(params, states, grads):
        v[:] = hyperparams['momentum'] * v + g
        p[:] -= 0.005 * v                          # the book's lr written in, not read


def momentum_lr_in_v(params, grads, states, hyperparams):
    for p, v, g in zip(params, states, grads):
        v[:] = hyperparams['momentum'] * v + hyperparams['lr'] * g
        p[:] -= v


def yogi_written_as_adam(params, grads, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-3
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * np.square(g)
        v_hat = v / (1 - beta1 ** hyperparams['t'])
        s_hat = s / (1 - beta2 ** hyperparams['t'])
        p[:] -= hyperparams['lr'] * v_hat / (np.sqrt(s_hat) + eps)
    hyperparams['t'] += 1


def adadelta_delta_first(params, grads, states, hyperparams):
    rho, eps = hyperparams['rho'], 1e-5
    for p, (s, delta), g in zip(params, states, grads):
        s[:] = rho * s + (1 - rho) * np.square(g)
        g_prime = np.sqrt(delta + eps) / np.sqrt(s + eps) * g
        delta[:] = rho * delta + (1 - rho) * g_prime * g_prime
        p[:] -= np.sqrt(delta + eps) / np.sqrt(s + eps) * g   # uses the new delta


# the right state, the wrong variable in the step

def momentum_steps_with_g(params, grads, states, hyperparams):
    for p, v, g in zip(params, states, grads):
        v[:] = hyperparams['momentum'] * v + g
        p[:] -= hyperparams['lr'] * g                 # g where v belongs


def momentum_v_not_written(params, grads, states, hyperparams):
    for p, v, g in zip(params, states, grads):
        v = hyperparams['momentum'] * v + g           # rebinds v: the state stays at 0
        p[:] -= hyperparams['lr'] * v                 # the same steps as momentum_steps_with_g


def my_momentum_steps_with_g(p, g, state, hp, t, xp):
    (v,) = state
    v = hp['momentum'] * v + g
    return p - hp['lr'] * g, (v,)


def my_nesterov_steps_with_g(p, g, state, hp, t, xp):
    (v,) = state
    v = hp['momentum'] * v + g
    return p - hp['lr'] * g, (v,)


def adam_steps_with_g(params, grads, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * np.square(g)
        s_hat = s / (1 - beta2 ** hyperparams['t'])
        p[:] -= hyperparams['lr'] * g / (np.sqrt(s_hat) + eps)      # g where v_hat belongs
    hyperparams['t'] += 1


def adam_steps_with_v(params, grads, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * np.square(g)
        v_hat = v / (1 - beta1 ** hyperparams['t'])                  # computed, then not used
        s_hat = s / (1 - beta2 ** hyperparams['t'])
        p[:] -= hyperparams['lr'] * v / (np.sqrt(s_hat) + eps)
    hyperparams['t'] += 1


def my_adam_steps_with_s(p, g, state, hp, t, xp):
    v, s = state
    v = 0.9 * v + 0.1 * g
    s = 0.999 * s + 0.001 * g * g
    v_hat, s_hat = v / (1 - 0.9 ** t), s / (1 - 0.999 ** t)
    return p - hp['lr'] * v_hat / (xp.sqrt(s) + 1e-6), (v, s)       # s where s_hat belongs


def my_yogi_steps_with_g(p, g, state, hp, t, xp):
    v, s = state
    v = 0.9 * v + 0.1 * g
    s = s + 0.001 * xp.sign(g * g - s) * g * g
    s_hat = s / (1 - 0.999 ** t)
    return p - hp['lr'] * g / (xp.sqrt(s_hat) + 1e-3), (v, s)


def adadelta_steps_with_g(params, grads, states, hyperparams):
    rho, eps = hyperparams['rho'], 1e-5
    for p, (s, delta), g in zip(params, states, grads):
        s[:] = rho * s + (1 - rho) * np.square(g)
        g_prime = np.sqrt(delta + eps) / np.sqrt(s + eps) * g
        p[:] -= g                                                    # g where g_prime belongs
        delta[:] = rho * delta + (1 - rho) * g_prime * g_prime


def rmsprop_divides_by_s(params, grads, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-6
    for p, s, g in zip(params, states, grads):
        s[:] = gamma * s + (1 - gamma) * np.square(g)
        p[:] -= hyperparams['lr'] * g / (s + eps)                    # no square root


def my_adagrad_divides_by_s(p, g, state, hp, t, xp):
    (s,) = state
    s = s + g * g
    return p - hp['lr'] * g / s, (s,)


def my_adam_without_sqrt(p, g, state, hp, t, xp):
    v, s = state
    v = 0.9 * v + 0.1 * g
    s = 0.999 * s + 0.001 * g * g
    v_hat, s_hat = v / (1 - 0.9 ** t), s / (1 - 0.999 ** t)
    return p - hp['lr'] * v_hat / (s_hat + 1e-6), (v, s)


def my_adadelta_without_sqrt(p, g, state, hp, t, xp):
    s, delta = state
    s = 0.9 * s + 0.1 * g * g
    g_prime = (delta + 1e-5) / (s + 1e-5) * g
    delta = 0.9 * delta + 0.1 * g_prime * g_prime
    return p - g_prime, (s, delta)


MISTAKES = [
    (rmsprop_eps_outside, 'rmsprop', 'eps_outside_sqrt', 1),
    (rmsprop_torch_eps, 'rmsprop', 'eps_outside_sqrt', 1),
    (rmsprop_eps_1e8, 'rmsprop', 'eps_value', 1),
    (rmsprop_no_one_minus, 'rmsprop', 'missing_one_minus', 1),
    (rmsprop_state_not_written, 'rmsprop', 'state_not_updated', 2),
    (adam_no_bias_correction, 'adam', 'no_bias_correction', 1),
    (adam_t_never_advanced, 'adam', 't_not_advanced', 2),
    (adam_t_early, 'adam', 't_advanced_early', 1),
    (adam_eps_inside, 'adam', 'eps_inside_sqrt', 1),
    (my_adam_t0, 'adam', 'bias_correction_t0', 1),
    (sgd_uphill, 'sgd', 'wrong_sign', 1),
    (sgd_flips_its_grads, 'sgd', 'wrong_sign', 1),
    (momentum_fixed_lr, 'momentum', 'lr_constant', 26),  # right until lr halves at step 26
    (yogi_written_as_adam, 'yogi', 'yogi_as_adam', 8),   # equal until sign(g**2 - s) < 0
    (adadelta_delta_first, 'adadelta', 'adadelta_order', 1),
    (momentum_steps_with_g, 'momentum', 'step_uses_g', 2),      # step 1's v is g
    (my_momentum_steps_with_g, 'momentum', 'step_uses_g', 2),
    (momentum_v_not_written, 'momentum', 'state_not_updated', 2),
    (my_nesterov_steps_with_g, 'nesterov', 'step_uses_g', 1),
    (adam_steps_with_g, 'adam', 'step_uses_g', 2),              # step 1's v_hat is g
    (my_yogi_steps_with_g, 'yogi', 'step_uses_g', 2),
    (adadelta_steps_with_g, 'adadelta', 'step_uses_g', 1),
    (adam_steps_with_v, 'adam', 'step_uses_raw_moment', 1),
    (my_adam_steps_with_s, 'adam', 'step_uses_raw_moment', 1),
    (rmsprop_divides_by_s, 'rmsprop', 'step_without_sqrt', 1),
    (my_adagrad_divides_by_s, 'adagrad', 'step_without_sqrt', 1),
    (my_adam_without_sqrt, 'adam', 'step_without_sqrt', 1),
    (my_adadelta_without_sqrt, 'adadelta', 'step_without_sqrt', 1),
]


@pytest.mark.parametrize('fn, rule, code, step', MISTAKES,
                         ids=lambda x: getattr(x, '__name__', str(x)))
def test_each_known_mistake_gets_its_code(fn, rule, code, step):
    result = check(fn, rule)
    assert result.mistake == code, result.message
    assert not result.passed and not result
    assert result.first_bad_step == step, result.first_bad_step
    assert result.max_abs_error > 1e-4
    assert 2 <= len(result.message.splitlines()) <= 4, result.message
    assert 'Traceback' not in result.message


WRONG_VARIABLE_TEXTS = {
    # fn: (what the first line says the learner does, what the second says the book does)
    momentum_steps_with_g: ('updates v but steps with the raw gradient g: p - lr * g.',
                            'steps with the velocity v: p - lr * v.'),
    my_nesterov_steps_with_g: ('updates v but steps with the raw gradient g',
                               'g + momentum * v: p - lr * (g + momentum * v)'),
    adam_steps_with_g: ('updates v and s but steps with the raw gradient g',
                        'v_hat = v / (1 - beta1**t): p - lr * v_hat / (sqrt(s_hat) + eps)'),
    adadelta_steps_with_g: ('updates s and delta but steps with the raw gradient g: p - g.',
                            'g_prime = sqrt(delta + eps) / sqrt(s + eps) * g: p - g_prime'),
    adam_steps_with_v: ('steps with the uncorrected v: p - lr * v / (sqrt(s_hat) + eps).',
                        'v_hat = v / (1 - beta1**t)'),
    my_adam_steps_with_s: ('steps with the uncorrected s: p - lr * v_hat / (sqrt(s) + eps).',
                           's_hat = s / (1 - beta2**t)'),
    rmsprop_divides_by_s: ('leaves out the square root in its step: p - lr * g / (s + eps).',
                           'divides by the root: p - lr * g / sqrt(s + eps), with eps = 1e-06.'),
    my_adagrad_divides_by_s: ('leaves out the square root in its step: p - lr * g / s.',
                              'p - lr * g / sqrt(s + eps)'),
    my_adam_without_sqrt: ('p - lr * v_hat / (s_hat + eps)', 'p - lr * v_hat / (sqrt(s_hat) + eps)'),
    my_adadelta_without_sqrt: ('g_prime = (delta + eps) / (s + eps) * g',
                               'g_prime = sqrt(delta + eps) / sqrt(s + eps) * g, with eps = 1e-05'),
}


@pytest.mark.parametrize('fn', WRONG_VARIABLE_TEXTS, ids=lambda f: f.__name__)
def test_the_wrong_variable_in_the_step_is_named_with_the_expected_one(fn):
    rule, code = next((r, c) for f, r, c, _ in MISTAKES if f is fn)
    result = check(fn, rule)
    assert result.mistake == code, result.message
    does, book = WRONG_VARIABLE_TEXTS[fn]
    first, second = result.message.splitlines()
    assert first.startswith(f'Your {fn.__name__} ') and does in first, result.message
    whose = 'The reference' if code == 'step_uses_g' else "The book's"     # nesterov is not the book's
    assert second.startswith(f"{whose} {rule} ") and book in second, result.message


def test_a_state_kept_but_not_used_is_not_called_unwritten():
    """The steps of a momentum that writes v back but steps with g, and of one that never
    writes v back, are the same; the states they leave tell them apart."""
    used_g, unwritten = check(momentum_steps_with_g, 'momentum'), check(momentum_v_not_written, 'momentum')
    assert used_g.max_abs_error == unwritten.max_abs_error and used_g.first_bad_step == 2
    assert used_g.mistake == 'step_uses_g' and 'never writes' not in used_g.message
    assert unwritten.mistake == 'state_not_updated' and 'never writes it back' in unwritten.message
    ns = {'eta': 0.4, 'beta': 0.5}
    exec("def momentum_2d_g(x1, x2, v1, v2):\n"
         "    v1, v2 = beta * v1 + 0.2 * x1, beta * v2 + 4 * x2\n"
         "    return x1 - eta * 0.2 * x1, x2 - eta * 4 * x2, v1, v2\n"
         "def momentum_2d_unwritten(x1, x2, v1, v2):\n"
         "    w1, w2 = beta * v1 + 0.2 * x1, beta * v2 + 4 * x2\n"
         "    return x1 - eta * w1, x2 - eta * w2, v1, v2\n", ns)
    two_d = check(ns['momentum_2d_g'], 'momentum')
    assert two_d.form == '2d' and two_d.mistake == 'step_uses_g' and two_d.first_bad_step == 2
    two_d = check(ns['momentum_2d_unwritten'], 'momentum')
    assert two_d.mistake == 'state_not_updated' and two_d.first_bad_step == 2


def test_lr_in_velocity_is_reported_equivalent_and_passes():
    result = check(momentum_lr_in_v, 'momentum')
    assert result.passed and result.mistake == 'lr_in_velocity'
    # the forms agree until the learning rate halves at step 26
    assert result.first_bad_step == 26
    assert 'equivalent' in result.message and 'step 26' in result.message


def test_every_listed_code_is_tested():
    """MISTAKES' codes, plus each code some other test of this file asserts as a result's mistake."""
    here = sys.modules[__name__]
    assert 'fn, rule, code, step' in inspect.getsource(test_each_known_mistake_gets_its_code)
    asserted = {code for name, f in vars(here).items()
                if name.startswith('test_') and inspect.isfunction(f)
                for code in re.findall(r"\.mistake == '(\w+)'", inspect.getsource(f))}
    tested = {code for _, _, code, _ in MISTAKES} | asserted
    assert tested == set(CODES), sorted(set(CODES) ^ tested)


def test_lr_constant_in_a_pure_rule_says_hp():
    def my_adam(p, g, state, hp, t, xp):
        v, s = state
        v, s = 0.9 * v + 0.1 * g, 0.999 * s + 0.001 * g * g
        return p - 0.01 * (v / (1 - 0.9 ** t)) / (xp.sqrt(s / (1 - 0.999 ** t)) + 1e-6), (v, s)
    result = check(my_adam, 'adam')
    assert not result.passed and result.mistake == 'lr_constant'
    assert result.first_bad_step == 26 and "hp['lr']" in result.message
    # a rule that writes in another number is wrong from the first step: not this mistake
    result = check(lambda p, g, state, hp, t, xp: (p - 0.04 * g, state), 'sgd')
    assert result.mistake is None and result.first_bad_step == 1


# ---------------------------------------------------------------- learners writing into their inputs

def sgd_doubles_its_grads(params, grads, states, hyperparams):
    for p, g in zip(params, grads):
        g *= 2
        p[:] -= hyperparams['lr'] * g


def sgd_rule_in_place(p, g, state, hp, t, xp):
    p -= hp['lr'] * g                             # writes into the p it was given
    return p, state


def rmsprop_rule_in_place(p, g, state, hp, t, xp):
    (s,) = state
    s = hp['gamma'] * s + (1 - hp['gamma']) * g * g
    p -= hp['lr'] * g / xp.sqrt(s + 1e-6)
    return p, (s,)


def sgd_rule_flips_in_place(p, g, state, hp, t, xp):
    g *= -1
    p -= hp['lr'] * g
    return p, state


@pytest.mark.parametrize('airfoil', [False, True], ids=['seeded-only', 'with-airfoil'])
def test_writing_into_grads_or_params_never_reaches_the_reference(airfoil, monkeypatch):
    if not airfoil:
        monkeypatch.setattr(checker, 'airfoil_rows', lambda: None)
    elif checker.airfoil_rows() is None:
        pytest.skip('the airfoil data is not on this machine ($D2L_OPTIM_DATA_DIR)')
    flipped = check(sgd_flips_its_grads, 'sgd')
    assert not flipped.passed and flipped.mistake == 'wrong_sign' and flipped.first_bad_step == 1
    doubled = check(sgd_doubles_its_grads, 'sgd')
    assert not doubled.passed and doubled.mistake is None and doubled.first_bad_step == 1
    assert doubled.max_abs_error > 1e-2
    in_place = check(sgd_rule_in_place, 'sgd')
    assert in_place.passed and in_place.first_bad_step is None, in_place.message
    assert in_place.max_abs_error <= 1e-5
    assert ('airfoil epoch (150 minibatches)' in in_place.message) is airfoil
    assert check(rmsprop_rule_in_place, 'rmsprop').passed


@pytest.mark.parametrize('backend', ['numpy', 'torch', 'tensorflow', 'mxnet'])
def test_pure_rule_in_place_on_everyload_or_skip(backend):
    d2l = load_or_skip(backend)       # PyTorch's tensor() shares memory with NumPy, as NumPy's does
    result = d2l.check(sgd_rule_in_place, 'sgd')
    assert result.passed and result.max_abs_error <= 1e-5, result.message
    result = d2l.check(sgd_rule_flips_in_place, 'sgd')
    assert result.mistake == 'wrong_sign' and result.first_bad_step == 1


def test_state_not_updated_in_pure_form_names_the_state():
    def my_adadelta(p, g, state, hp, t, xp):
        s, delta = state
        s = 0.9 * s + 0.1 * g * g
        g_prime = xp.sqrt(delta + 1e-5) / xp.sqrt(s + 1e-5) * g
        delta_new = 0.9 * delta + 0.1 * g_prime * g_prime     # computed, not returned
        return p - g_prime, (s, delta)
    result = check(my_adadelta, 'adadelta')
    assert result.mistake == 'state_not_updated' and 'delta' in result.message.splitlines()[0]
    assert result.first_bad_step == 2     # the first step only reads delta's initial zeros


def test_grad_not_zeroed_on_torch():
    torch = pytest.importorskip('torch')
    d2l = load_or_skip('torch')

    def rmsprop(params, states, hyperparams):      # the book's PyTorch code minus p.grad.data.zero_()
        gamma, eps = hyperparams['gamma'], 1e-6
        for p, s in zip(params, states):
            with torch.no_grad():
                s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
                p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)

    def rmsprop_zeroed(params, states, hyperparams):
        rmsprop(params, states, hyperparams)
        for p in params:
            p.grad.data.zero_()

    result = d2l.check(rmsprop, 'rmsprop')
    assert result.mistake == 'grad_not_zeroed' and not result.passed
    assert result.first_bad_step == 2          # step 1 sees one gradient either way
    assert 'zero_()' in result.message
    assert d2l.check(rmsprop_zeroed, 'rmsprop').passed


def test_mxnet_overwrites_grad_so_no_zeroing_is_fine():
    d2l = load_or_skip('mxnet')
    from mxnet import np as mnp

    def rmsprop(params, states, hyperparams):      # the book's MXNet code: no zeroing at all
        gamma, eps = hyperparams['gamma'], 1e-6
        for p, s in zip(params, states):
            s[:] = gamma * s + (1 - gamma) * mnp.square(p.grad)
            p[:] -= hyperparams['lr'] * p.grad / mnp.sqrt(s + eps)
    assert d2l.check(rmsprop, 'rmsprop').passed


def test_book_tensorflow_adam_without_t_increment():
    tf = pytest.importorskip('tensorflow')
    d2l = load_or_skip('tensorflow')

    def adam(params, grads, states, hyperparams):  # the book's TensorFlow tab
        beta1, beta2, eps = 0.9, 0.999, 1e-6
        for p, (v, s), grad in zip(params, states, grads):
            v[:].assign(beta1 * v + (1 - beta1) * grad)
            s[:].assign(beta2 * s + (1 - beta2) * tf.math.square(grad))
            v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
            s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
            p[:].assign(p - hyperparams['lr'] * v_bias_corr / tf.math.sqrt(s_bias_corr) + eps)
    result = d2l.check(adam, 'adam')
    # the book's TF tab also adds eps outside the division: two mistakes, so no single code
    assert not result.passed

    def adam_fixed_eps(params, grads, states, hyperparams):
        beta1, beta2, eps = 0.9, 0.999, 1e-6
        for p, (v, s), grad in zip(params, states, grads):
            v[:].assign(beta1 * v + (1 - beta1) * grad)
            s[:].assign(beta2 * s + (1 - beta2) * tf.math.square(grad))
            v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
            s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
            p[:].assign(p - hyperparams['lr'] * v_bias_corr / (tf.math.sqrt(s_bias_corr) + eps))
    result = d2l.check(adam_fixed_eps, 'adam')
    assert result.mistake == 't_not_advanced' and result.first_bad_step == 2


def test_yogi_with_the_tensorflow_tab_eps_passes_with_a_note():
    def yogi(p, g, state, hp, t, xp):
        v, s = state
        v = 0.9 * v + 0.1 * g
        s = s + 0.001 * xp.sign(g * g - s) * g * g
        v_hat, s_hat = v / (1 - 0.9 ** t), s / (1 - 0.999 ** t)
        return p - hp['lr'] * v_hat / (xp.sqrt(s_hat) + 1e-6), (v, s)
    result = check(yogi, 'yogi')
    assert result.passed and result.mistake == 'eps_value' and 'TensorFlow' in result.message


# ---------------------------------------------------------------- unknown mistakes

def adagrad_no_square(params, grads, states, hyperparams):
    eps = 1e-6
    for p, s, g in zip(params, states, grads):
        s[:] += np.abs(g)                          # |g| where g**2 belongs
        p[:] -= hyperparams['lr'] * g / np.sqrt(s + eps)


@pytest.mark.parametrize('fn, rule, step', [(adagrad_no_square, 'adagrad', 1),
                                            (sgd_doubles_its_grads, 'sgd', 1)])
def test_unknown_mistakes_get_none_and_the_first_bad_step(fn, rule, step):
    result = check(fn, rule)
    assert not result.passed and result.mistake is None
    assert result.first_bad_step == step
    assert f'step {step}' in result.message and 'none of the known mistakes' in result.message


def test_two_d_trainer_with_globals_and_a_mistake():
    ns = {'eta': 0.4, 'gamma': 0.9, 'math': math}
    exec(
        "def rmsprop_2d(x1, x2, s1, s2):\n"
        "    g1, g2, eps = 0.2 * x1, 4 * x2, 1e-6\n"
        "    s1 = gamma * s1 + (1 - gamma) * g1 ** 2\n"
        "    s2 = gamma * s2 + (1 - gamma) * g2 ** 2\n"
        "    x1 -= eta / math.sqrt(s1 + eps) * g1\n"
        "    x2 -= eta / math.sqrt(s2 + eps) * g2\n"
        "    return x1, x2, s1, s2\n"
        "def rmsprop_2d_bad(x1, x2, s1, s2):\n"
        "    g1, g2, eps = 0.2 * x1, 4 * x2, 1e-6\n"
        "    s1 = gamma * s1 + g1 ** 2\n"
        "    s2 = gamma * s2 + g2 ** 2\n"
        "    x1 -= eta / math.sqrt(s1 + eps) * g1\n"
        "    x2 -= eta / math.sqrt(s2 + eps) * g2\n"
        "    return x1, x2, s1, s2\n", ns)
    good = check(ns['rmsprop_2d'], 'rmsprop')
    assert good.passed and good.form == '2d' and "'lr': 0.4" in good.message
    bad = check(ns['rmsprop_2d_bad'], 'rmsprop')
    assert bad.mistake == 'missing_one_minus' and bad.first_bad_step == 1


# ---------------------------------------------------------------- bad returns

def test_fn_that_raises_or_returns_the_wrong_things():
    def raises(p, g, state, hp, t, xp):
        raise ZeroDivisionError('oops')

    def only_p(p, g, state, hp, t, xp):
        return p - hp['lr'] * g

    def bare_state(p, g, state, hp, t, xp):
        (s,) = state
        s = 0.9 * s + 0.1 * g * g
        return p - hp['lr'] * g / xp.sqrt(s + 1e-6), s

    def three_states(p, g, state, hp, t, xp):
        return p, (state[0], state[0], state[0])

    def wrong_shape(p, g, state, hp, t, xp):
        return p - hp['lr'] * g.T, state

    cases = [(raises, 'sgd', 'ZeroDivisionError: oops'),
             (only_p, 'sgd', 'returned an array of shape (5, 1); a rule returns (new_p, new_state)'),
             (bare_state, 'rmsprop', 'returned a state of an array of shape (5, 1)'),
             (three_states, 'adam', 'returned a state of a tuple of 3 values; adam keeps 2'),
             (wrong_shape, 'sgd', 'shape (5, 5); it should have shape (5, 1)')]
    for fn, rule, text in cases:
        result = check(fn, rule)
        assert not result.passed and result.mistake is None, fn.__name__
        assert result.first_bad_step == 1
        assert text in result.message, result.message
        assert 'Traceback' not in result.message

    def two_d_three(x1, x2, s1, s2):
        return x1, x2, s1
    result = check(two_d_three, 'sgd')
    assert not result.passed and 'returned a tuple of 3 values' in result.message
    result = check(lambda a, b: None, 'sgd')
    assert not result.passed and 'takes 2 argument(s)' in result.message


def test_str_repr_and_json_show_the_message(tmp_path, monkeypatch):
    log = tmp_path / 'trace.jsonl'
    monkeypatch.setenv(TRACE_ENV, str(log))
    good = check(RULES['rmsprop'].update, 'rmsprop')
    bad = check(rmsprop_eps_outside, 'rmsprop')
    assert str(good) == repr(good) == good.message
    assert repr(bad).startswith('Your rmsprop_eps_outside adds eps outside the square root')
    bundle = bad._repr_mimebundle_()
    assert bundle['text/plain'] == bad.message and bundle[MIME_TYPE]['mistake'] == 'eps_outside_sqrt'
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r['passed'] for r in lines] == [True, False]
    assert lines[1]['mistake'] == 'eps_outside_sqrt' and lines[1]['execution_count'] is None


def test_check_is_bound_on_the_backend_module():
    d2l = load_or_skip('numpy')
    result = d2l.check(d2l.rmsprop, 'rmsprop')
    assert result.passed and result.backend == 'numpy' and result.form == 'book'
    with pytest.raises(ValueError, match='unknown optimizer'):
        d2l.check(d2l.rmsprop, 'rmsprp')


def test_the_airfoil_epoch_follows_the_seeded_steps():
    from d2l_optim.data import find_local
    if find_local('airfoil') is None:
        pytest.skip('the airfoil data is not on this machine ($D2L_OPTIM_DATA_DIR)')
    calls = []

    def sgd_tiring(params, grads, states, hyperparams):     # right for 50 calls, then not
        calls.append(1)
        lr = hyperparams['lr'] * (1.0 if len(calls) <= 50 else 0.9)
        for p, g in zip(params, grads):
            p[:] -= lr * g
    result = check(sgd_tiring, 'sgd')
    assert not result.passed and result.mistake is None
    assert result.first_bad_step == 51 and 'airfoil data, from minibatch 1 on' in result.message
    assert len(calls) == 50 + 150                            # 1500 examples, batches of 10


def test_the_books_own_two_d_trainers_pass():
    ns = {'eta': 0.4, 'beta': 0.5, 'math': math}
    exec(
        "def momentum_2d(x1, x2, v1, v2):\n"
        "    v1 = beta * v1 + 0.2 * x1\n"
        "    v2 = beta * v2 + 4 * x2\n"
        "    return x1 - eta * v1, x2 - eta * v2, v1, v2\n"
        "def gd_2d(x1, x2, s1, s2, f_grad):\n"
        "    g1, g2 = f_grad(x1, x2)\n"
        "    return (x1 - eta * g1, x2 - eta * g2, 0, 0)\n"
        "def adagrad_2d(x1, x2, s1, s2):\n"
        "    eps = 1e-6\n"
        "    g1, g2 = 0.2 * x1, 4 * x2\n"
        "    s1 += g1 ** 2\n"
        "    s2 += g2 ** 2\n"
        "    x1 -= eta / math.sqrt(s1 + eps) * g1\n"
        "    x2 -= eta / math.sqrt(s2 + eps) * g2\n"
        "    return x1, x2, s1, s2\n", ns)
    m = check(ns['momentum_2d'], 'momentum')
    assert m.passed and "{'lr': 0.4, 'momentum': 0.5}" in m.message
    assert check(ns['gd_2d'], 'sgd', f_grad=lambda x1, x2: (2 * x1, 4 * x2)).passed
    assert check(ns['adagrad_2d'], 'adagrad').passed
    assert check(ns['adagrad_2d'], 'adagrad', hyperparams={'lr': 0.3}).first_bad_step == 1


# ---------------------------------------------------------------- the mistakes' records

def test_a_two_d_adam_is_diagnosed_past_the_t0_variant():
    """On floats the t = 0 variant divides by zero when the checker tries it: it is not this
    trainer's mistake, and the search goes on (it used to end in a ZeroDivisionError)."""
    from d2l_optim.mistakes.variants import flipped, with_hyperparams
    adam, yogi = RULES['adam'], RULES['yogi']
    eps = check(trainer_2d(with_hyperparams(adam, eps=1e-2), _f_ill_grad, **adam.defaults), 'adam')
    assert not eps.passed and eps.mistake == 'eps_value' and 'uses eps = 0.01' in eps.message
    uphill = check(trainer_2d(flipped(yogi), _f_ill_grad, **yogi.defaults), 'yogi')
    assert not uphill.passed and uphill.mistake == 'wrong_sign' and uphill.first_bad_step == 1


def test_each_mistake_is_one_record_with_its_message():
    """Code, meaning, message and variants together; the checker has no branch per code."""
    from pathlib import Path
    from d2l_optim import mistakes
    assert [m.code for m in mistakes.MISTAKES] == list(CODES) and len(CODES) == 18
    for m in mistakes.MISTAKES:
        assert m.meaning and (callable(m.message) or m.message.startswith('{who} ')), m.code
    for rule in ALL_RULES:          # variants come in the records' order, most specific first
        codes = [v.code for v in mistakes.variants(rule, grads_accumulate=True)]
        assert codes == sorted(codes, key=list(CODES).index) and codes[-1] == 'wrong_sign'
    sources = ''.join(p.read_text() for p in Path(checker.__file__).parent.glob('*.py'))
    assert 'code ==' not in sources and "'eps_outside_sqrt'" not in sources


# ---------------------------------------------------------------- strict=True, for an autograder's test cell

def rmsprop_rule_eps_outside(p, g, state, hp, t, xp):
    (s,) = state
    s = hp['gamma'] * s + (1 - hp['gamma']) * g * g
    return p - hp['lr'] * g / (xp.sqrt(s) + 1e-6), (s,)


@pytest.mark.parametrize('backend', ['numpy', 'torch', 'tensorflow', 'mxnet', 'jax'])
def test_strict_raises_the_message_of_a_failed_check_on_everyload_or_skip(backend):
    d2l = load_or_skip(backend)
    with pytest.raises(AssertionError) as info:
        d2l.check(rmsprop_rule_eps_outside, 'rmsprop', strict=True)
    expected = d2l.check(rmsprop_rule_eps_outside, 'rmsprop')
    assert expected.mistake == 'eps_outside_sqrt' and expected.backend == backend
    assert info.value.args == (expected.message,)
    right = d2l.check(RULES['rmsprop'].update, 'rmsprop', strict=True)      # a pass is returned, silently
    assert isinstance(right, checker.CheckResult) and right.passed and right.backend == backend
    book = d2l.check(book_optimizer(RULES['rmsprop'], d2l.BACKEND), 'rmsprop', strict=True)
    assert book.passed and book.form == 'book'


def test_strict_on_the_package_function():
    with pytest.raises(AssertionError) as info:
        d2l_optim.check(adagrad_no_square, 'adagrad', strict=True)     # no known mistake: raises too
    assert str(info.value) == check(adagrad_no_square, 'adagrad').message
    assert 'none of the known mistakes' in str(info.value)
    with pytest.raises(AssertionError, match='takes 2 argument'):       # fn that cannot be run
        d2l_optim.check(lambda a, b: None, 'sgd', strict=True)
    noted = d2l_optim.check(momentum_lr_in_v, 'momentum', strict=True)  # passed with a note
    assert noted.passed and noted.mistake == 'lr_in_velocity'
    assert d2l_optim.check(momentum_lr_in_v, 'momentum', strict=False).passed


# ---------------------------------------------------------------- hyperparameters check refuses

def plain_sgd(p, g, state, hp, t, xp):
    return p - hp['lr'] * g, state


@pytest.mark.parametrize('hp, needles', [
    ({'lr': math.nan}, ['lr', 'nan', 'finite', 'lr=0.01']),
    ({'lr': math.inf}, ['lr', 'inf', 'finite']),
    ({'eps': -math.inf}, ['eps', '-inf', 'finite', 'eps=1e-06']),
    ({'gamma': math.nan}, ['gamma', 'nan', 'finite', 'gamma=0.9']),
    ({'gamma': np.float32('nan')}, ['gamma', 'nan', 'finite']),
    ({'lr': 0.0}, ['lr must be > 0, got 0.0']),
    ({'gamma': 1.5}, ['gamma must be in [0, 1), got 1.5']),
    ({'gama': 0.5}, ["hyperparams key 'gama' is not used by rmsprop; did you mean 'gamma'?"]),
    ({'eta': 0.1}, ["'eta'", "did you mean 'lr'?"]),
    ({'weight_decay': 0.1}, ["'weight_decay'", 'it reads: lr, gamma, eps']),
])
def test_check_refuses_bad_hyperparameters_by_name(hp, needles):
    """Before anything runs: a NaN lr used to let plain SGD pass as RMSProp (every step NaN on
    both sides), and a mistyped key left the book's value silently in place."""
    with pytest.raises(ValueError) as info:
        check(plain_sgd, 'rmsprop', hyperparams=hp)
    text = str(info.value)
    assert len(text.splitlines()) == 1 and all(n in text for n in needles), text
    with pytest.raises(ValueError, match="did you mean 'momentum'"):
        check(momentum_lr_in_v, 'momentum', hyperparams={'momentun': 0.5})
    with pytest.raises(TypeError, match=r"hyperparams\['lr'\] must be a number, got '0.01'"):
        check(plain_sgd, 'sgd', hyperparams={'lr': '0.01'})
    with pytest.raises(TypeError, match='hyperparams must be a dict'):
        check(plain_sgd, 'sgd', hyperparams=[0.01])


def test_valid_hyperparameters_still_run():
    assert check(plain_sgd, 'sgd', hyperparams={'lr': 0.1, 'eps': 1e-6}).passed
    result = check(RULES['adam'].update, 'adam', hyperparams={'lr': 0.02, 'beta1': 0.8, 't': 1})
    assert result.passed, result.message
