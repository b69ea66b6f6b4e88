"""The known mistakes in writing each update rule, which :func:`d2l_optim.check` recognises.

Each mistake is one :class:`Mistake` record, written below in the order the checker tries
them (most specific first): its code, what it means, the message a learner gets (a
template, or a function of the :class:`Finding` when the words depend on it), and how to
build its :class:`~d2l_optim.mistakes.variants.Variant` of a rule (the rule as the mistaken learner
computes it). :data:`CODES` lists every code with its meaning; :func:`variants` gives the
variants that apply to a rule; :func:`message` the text for a variant the checker matched.
The record itself and its decorator are in :mod:`~d2l_optim.mistakes.records`.
"""
from __future__ import annotations

from typing import Iterator

from ..i18n import N_, gettext as _
from ..rules import RULES, Rule
from .records import MISTAKES, Build, Finding, Mistake, both, eps_text, mistake
from .variants import (Variant, adadelta_with, adagrad_eps_outside, adagrad_no_sqrt, adam_with, flipped,
                       formula, momentum_lr_in_velocity, momentum_steps_with_g,
                       nesterov_lr_in_velocity, rmsprop_eps_outside, rmsprop_no_one_minus,
                       rmsprop_no_sqrt, with_hyperparams)

__all__ = ['CODES', 'BY_CODE', 'MISTAKES', 'EPS_CANDIDATES', 'Build', 'Finding', 'Mistake', 'Variant',
           'eps_text', 'message', 'mistake', 'variants']

#: eps values a learner plausibly writes (framework defaults and powers of ten)
EPS_CANDIDATES = (1e-8, 1e-7, 1e-10, 1e-5, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 0.0)


# ---------------------------------------------------------------- the mistakes, in the checker's order

def _eps_outside_text(f: Finding) -> str:
    v = f.variant
    with_eps = _(", with eps = {eps}").format(eps=eps_text(v.eps)) if v.eps is not None else ''
    return _("{who} adds eps outside the square root: {detail}{with_eps}.\n"
             "The book adds it inside, lr * g / sqrt(s + eps), with eps = {book_eps} "
             "(PyTorch's built-in puts it outside; this chapter does not).").format(
        who=f.who, detail=v.detail, with_eps=with_eps, book_eps=eps_text(f.rule.eps))


@mistake('eps_outside_sqrt', 'eps added outside the square root instead of inside', _eps_outside_text)
def _eps_outside(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('adagrad', 'rmsprop'):
        body = adagrad_eps_outside if rule.name == 'adagrad' else rmsprop_eps_outside
        others = (1e-10, 1e-8, 1e-7) if rule.name == 'adagrad' else (1e-8, 1e-10, 1e-7)
        for eps in (rule.eps, *others):
            yield Variant(with_hyperparams(formula(rule, body), eps=eps), 'sqrt(s) + eps', eps=eps)
    if rule.name == 'adadelta':
        yield Variant(formula(rule, adadelta_with(outside=True)), '(sqrt(delta) + eps) / (sqrt(s) + eps)')


def _adam_like(rule: Rule, **slip: bool) -> Rule:
    return formula(rule, adam_with(yogi=rule.name == 'yogi', **slip))


@mistake('no_bias_correction', "Adam's bias correction left out",
         N_("{who} leaves out the bias correction ({detail}).\n"
            "Divide v by (1 - beta1**t) and s by (1 - beta2**t) before the step, "
            "with t = 1 at the first step."))
def _no_bias_correction(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('adam', 'yogi'):
        yield Variant(_adam_like(rule, correct_v=False, correct_s=False), N_('neither v nor s is corrected'))


ADAM_STEP = 'p - lr * v_hat / (sqrt(s_hat) + eps)'


@mistake('step_uses_raw_moment',
         "Adam's step taken with v or s where it takes the bias-corrected v_hat or s_hat",
         N_("{who} steps with the uncorrected {detail}.\n"
            "The book's {r} steps with {expected}."))
def _step_uses_raw_moment(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('adam', 'yogi'):
        yield Variant(_adam_like(rule, correct_v=False), 'v: p - lr * v / (sqrt(s_hat) + eps)',
                      expected=f'v_hat = v / (1 - beta1**t): {ADAM_STEP}')
        yield Variant(_adam_like(rule, correct_s=False), 's: p - lr * v_hat / (sqrt(s) + eps)',
                      expected=f's_hat = s / (1 - beta2**t): {ADAM_STEP}')


def _one_minus_text(f: Finding) -> str:
    factor = {'rmsprop': '(1 - gamma)', 'adadelta': '(1 - rho)'}.get(f.rule.name, '(1 - beta1) / (1 - beta2)')
    return _("{who} drops the {factor} factor of the leaky average ({detail}).\n"
             "Each average mixes the old value and the new term: s = gamma * s + (1 - gamma) * g**2 "
             "for RMSProp, with rho or beta1/beta2 for the others.").format(
        who=f.who, factor=factor, detail=_(f.variant.detail))


@mistake('missing_one_minus', 'the (1 - gamma) / (1 - rho) / (1 - beta) factor of a leaky average dropped',
         _one_minus_text)
def _missing_one_minus(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name == 'rmsprop':
        yield Variant(formula(rule, rmsprop_no_one_minus), 's = gamma * s + g**2')
    if rule.name == 'adadelta':
        yield Variant(formula(rule, adadelta_with(one_minus_s=False, one_minus_delta=False)),
                      N_('s = rho * s + g**2 and delta = rho * delta + g_prime**2'))
        yield Variant(formula(rule, adadelta_with(one_minus_s=False)), 's = rho * s + g**2')
        yield Variant(formula(rule, adadelta_with(one_minus_delta=False)),
                      'delta = rho * delta + g_prime**2')
    if rule.name in ('adam', 'yogi'):
        yield Variant(_adam_like(rule, one_minus_v=False, one_minus_s=False), N_('in both v and s'))
        yield Variant(_adam_like(rule, one_minus_v=False), 'v = beta1 * v + g')
        yield Variant(_adam_like(rule, one_minus_s=False), N_('s gets all of g**2, without (1 - beta2)'))


@mistake('eps_inside_sqrt', 'eps added inside the square root where the book adds it outside (Adam, Yogi)',
         N_("{who} adds eps inside the square root: {detail}.\n"
            "The book's {r} adds it outside: lr * v_hat / (sqrt(s_hat) + eps), eps = {book_eps}."))
def _eps_inside(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('adam', 'yogi'):
        yield Variant(_adam_like(rule, eps_inside=True), 'sqrt(s_hat + eps)')


@mistake('step_uses_g', 'the state updated but the step taken with the raw gradient g',
         N_("{who} updates {states} but steps with the raw gradient g: {detail}.\n"
            "The reference {r} steps with {expected}."))
def _step_uses_g(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name == 'momentum':
        yield Variant(formula(rule, momentum_steps_with_g), 'p - lr * g', reads_states=True,
                      expected=N_('the velocity v: p - lr * v'))
    if rule.name == 'nesterov':
        yield Variant(formula(rule, momentum_steps_with_g), 'p - lr * g', reads_states=True,
                      expected='g + momentum * v: p - lr * (g + momentum * v)')
    if rule.name in ('adam', 'yogi'):
        yield Variant(_adam_like(rule, step_g=True), 'p - lr * g / (sqrt(s_hat) + eps)', reads_states=True,
                      expected=f'v_hat = v / (1 - beta1**t): {ADAM_STEP}')
    if rule.name == 'adadelta':
        yield Variant(formula(rule, adadelta_with(step_g=True)), 'p - g', reads_states=True,
                      expected='g_prime = sqrt(delta + eps) / sqrt(s + eps) * g: p - g_prime')


@mistake('step_without_sqrt', 'the step divided by s itself, not by its square root',
         N_("{who} leaves out the square root in its step: {detail}.\n"
            "The book's {r} divides by the root: {expected}, with eps = {book_eps}."))
def _step_without_sqrt(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('adagrad', 'rmsprop'):
        body = formula(rule, adagrad_no_sqrt if rule.name == 'adagrad' else rmsprop_no_sqrt)
        root = 'p - lr * g / sqrt(s + eps)'
        yield Variant(body, 'p - lr * g / (s + eps)', expected=root)
        yield Variant(with_hyperparams(body, eps=0.0), 'p - lr * g / s', eps=0.0, expected=root)
    if rule.name in ('adam', 'yogi'):
        yield Variant(_adam_like(rule, sqrt=False), 'p - lr * v_hat / (s_hat + eps)', expected=ADAM_STEP)
    if rule.name == 'adadelta':
        yield Variant(formula(rule, adadelta_with(sqrt=False)), 'g_prime = (delta + eps) / (s + eps) * g',
                      expected='g_prime = sqrt(delta + eps) / sqrt(s + eps) * g')


def _t_not_advanced_text(f: Finding) -> str:
    how = (_("add hyperparams['t'] += 1 at the end of your function (after the loop over params)")
           if f.form == 'book' else _('use the step count t you are given, not a constant'))
    return _("{who} never advances t: every step uses t = 1, so the bias correction keeps its "
             "first-step size (the book's TensorFlow Adam has this bug).\nTo fix it, {how}.").format(
        who=f.who, how=how)


@mistake('t_not_advanced', "t never incremented (the book's TensorFlow Adam)", _t_not_advanced_text)
def _t_not_advanced(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('adam', 'yogi'):
        yield Variant(rule, N_('every step uses t = 1'), t_of=lambda t: 1)


@mistake('bias_correction_t0', 'the bias correction counts t from 0 (the first step divides by 0)',
         N_("{who} counts t from 0 in the bias correction, so the first step divides by "
            "1 - beta**0 = 0 and gives NaN.\n"
            "Count steps from 1: t is 1 at the first step (hyperparams['t'] starts at 1)."))
def _bias_correction_t0(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('adam', 'yogi'):
        yield Variant(rule, N_('the first step uses t = 0'), t_of=lambda t: t - 1)


@mistake('t_advanced_early', 't advanced before it is used (the first step uses t = 2)',
         N_("{who} advances t before using it, so the first step uses t = 2.\n"
            "Use t in the bias correction first, then add 1 at the end of the step."))
def _t_advanced_early(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('adam', 'yogi'):
        yield Variant(rule, N_('the first step uses t = 2'), t_of=lambda t: t + 1)


@mistake('yogi_as_adam', "Yogi's second moment updated as Adam's",
         N_("{who} updates s as Adam does: s = beta2 * s + (1 - beta2) * g**2.\n"
            "Yogi moves s additively: s = s + (1 - beta2) * sign(g**2 - s) * g**2."))
def _yogi_as_adam(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name == 'yogi':
        for eps in (rule.eps, 1e-6, 1e-8):
            yield Variant(with_hyperparams(RULES['adam'], eps=eps), N_('Adam with eps'), eps=eps)


@mistake('adadelta_order', 'Adadelta with its averages updated in the wrong order',
         N_("{who} updates Adadelta's averages in the wrong order: {detail}.\n"
            "Update s with g**2, compute g_prime = sqrt(delta + eps) / sqrt(s + eps) * g with "
            "the old delta, move p by g_prime, then update delta with g_prime**2."))
def _adadelta_order(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name == 'adadelta':
        yield Variant(formula(rule, adadelta_with(delta_first=True)),
                      N_('delta is updated with g_prime**2 before the step uses it'))
        yield Variant(formula(rule, adadelta_with(s_after=True)),
                      N_('s is updated after the step instead of before'))


def _lr_in_velocity_text(f: Finding) -> str:
    at = _(" at step {step}").format(step=f.lr_step) if f.lr_step else ''
    return _("{who} is equivalent to the reference {r}: your velocity holds the learning "
             "rate (v = beta * v + lr * g; p = p - v), the book's v times lr.\n"
             "Passed. The two differ only when lr changes (here{at}, as a scheduler would change "
             "it): then the book's form applies the new lr at once.").format(
        who=f.who, r=f.rule.name, at=at)


@mistake('lr_in_velocity', 'momentum with the learning rate inside the velocity (equivalent at constant lr)',
         _lr_in_velocity_text)
def _lr_in_velocity(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.name in ('momentum', 'nesterov'):
        body = momentum_lr_in_velocity if rule.name == 'momentum' else nesterov_lr_in_velocity
        yield Variant(formula(rule, body), 'v = beta * v + lr * g', passes=True)


def _lr_constant_text(f: Finding) -> str:
    read = "hyperparams['lr']" if f.form == 'book' else "hp['lr']"
    return _("{who} agrees with the reference {r} until step {first}, where the learning "
             "rate it is given halves (as a scheduler would change it), and goes on with the old one.\n"
             "Read the learning rate from {read} at every step instead of writing the number in.").format(
        who=f.who, r=f.rule.name, first=f.first, read=read)


@mistake('lr_constant', "the learning rate written in as a number, not read from hyperparams['lr'] each step",
         _lr_constant_text)
def _lr_constant(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if 'lr' in rule.defaults:
        yield Variant(rule, N_('the learning rate of the first step, kept'), fixed_lr=True)


def _eps_value_text(f: Finding) -> str:
    v, book = f.variant, eps_text(f.rule.eps)
    if v.passes:
        return _("{who} matches the reference {r} with eps = {eps}, the value "
                 "the book's TensorFlow tab uses; the paper and the other tabs use {book_eps}.\n"
                 "Passed; either constant is the book's.").format(
            who=f.who, r=f.rule.name, eps=eps_text(v.eps), book_eps=book)
    return _("{who} uses eps = {eps}; the book's {r} uses eps = {book_eps}.\n"
             "Change the constant (or read hp.get('eps', {book_eps})).").format(
        who=f.who, r=f.rule.name, eps=eps_text(v.eps), book_eps=book)


@mistake('eps_value', 'eps of another size than the book uses', _eps_value_text)
def _eps_value(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if rule.eps is None:
        return
    for eps in EPS_CANDIDATES:
        # Adadelta with eps = 0 never moves (Delta-x starts at 0): that is not an eps slip
        if eps != rule.eps and not (eps == 0 and rule.name == 'adadelta'):
            yield Variant(with_hyperparams(rule, eps=eps), '', eps=eps, passes=eps in rule.eps_alternatives)


def _state_not_updated_text(f: Finding) -> str:
    names = f.variant.detail.split(' and ')
    which = both(names)
    if f.form == 'rule':
        how = _("return the new {which} in the state tuple, not the one you were given").format(which=which)
    elif f.form == '2d':
        how = _("return the new {which} as s1, s2").format(which=which)
    else:
        how = _("write into the state in place: s[:] = ... (s.assign(...) on "
                "TensorFlow), not s = ..., which only rebinds the name")
    text = (_("{who} computes {which} but never writes them back, so they stay at 0.\nTo fix it, {how}.")
            if len(names) > 1 else
            _("{who} computes {which} but never writes it back, so it stays at 0.\nTo fix it, {how}."))
    return text.format(who=f.who, which=which, how=how)


@mistake('state_not_updated', 'a state computed but not written back, so it stays at 0',
         _state_not_updated_text)
def _state_not_updated(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    names = rule.state_names
    if names:
        yield Variant(rule, ' and '.join(names), frozen_states=tuple(range(len(names))), reads_states=True)
    if len(names) > 1:
        for i, name in enumerate(names):
            yield Variant(rule, name, frozen_states=(i,), reads_states=True)


@mistake('grad_not_zeroed', 'p.grad never cleared, so gradients accumulate across steps (PyTorch)',
         N_("{who} never clears p.grad, so each step uses the sum of all gradients so far "
            "(PyTorch's backward adds to p.grad).\n"
            "End your step with p.grad.data.zero_() (or p.grad = None) for every parameter."))
def _grad_not_zeroed(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    if grads_accumulate:
        yield Variant(rule, '', accumulate_grads=True)


@mistake('wrong_sign', 'the update added instead of subtracted',
         N_("{who} steps uphill: it adds the update to the parameters instead of subtracting it.\n"
            "Gradient descent moves against the gradient: p - lr * ..., not p + lr * ...."))
def _wrong_sign(rule: Rule, grads_accumulate: bool) -> Iterator[Variant]:
    yield Variant(flipped(rule))


# ---------------------------------------------------------------- lookups

#: every diagnosis code, with the one-line meaning used in documentation
CODES: dict[str, str] = {m.code: m.meaning for m in MISTAKES}
BY_CODE: dict[str, Mistake] = {m.code: m for m in MISTAKES}


def variants(rule: Rule, grads_accumulate: bool = False) -> list[Variant]:
    """The known mistakes' variants of ``rule``, most specific first.

    ``grads_accumulate``: the backend's ``backward`` adds into ``p.grad`` (PyTorch),
    so a book-form optimizer that never clears it sees accumulated gradients.
    """
    return [v for m in MISTAKES for v in m.variants(rule, grads_accumulate)]


def message(found: Finding) -> str:
    """What to tell the learner whose function matched ``found.variant``."""
    return BY_CODE[found.variant.code].text(found)
