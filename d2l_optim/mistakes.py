r"""The known wrong versions of each update rule, which :func:`d2l_optim.check` recognises.

A :class:`Variant` is the reference rule as a learner with one particular mistake
computes it. Most variants are transformations of the one reference rule in
:mod:`d2l_optim.rules` (another eps, t frozen or shifted, a state never written
back, the step's sign flipped, gradients accumulated, the learning rate never re-read,
Adam run in place of Yogi);
only a mistake that is a different formula (eps outside the root, no bias
correction, a dropped :math:`1 - \gamma`, Adadelta's order, the learning rate in
the velocity) is written out here, once.

Codes and what they mean are listed in :data:`CODES`; :func:`variants` gives the
variants that apply to a rule.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from .rules import RULES, Rule

#: every diagnosis code, with the one-line meaning used in documentation
CODES = {
    'eps_outside_sqrt': 'eps added outside the square root instead of inside',
    'eps_inside_sqrt': 'eps added inside the square root where the book adds it outside (Adam, Yogi)',
    'eps_value': 'eps of another size than the book uses',
    'missing_one_minus': 'the (1 - gamma) / (1 - rho) / (1 - beta) factor of a leaky average dropped',
    'no_bias_correction': "Adam's bias correction left out",
    'bias_correction_t0': 'the bias correction counts t from 0 (the first step divides by 0)',
    't_advanced_early': 't advanced before it is used (the first step uses t = 2)',
    't_not_advanced': "t never incremented (the book's TensorFlow Adam)",
    'state_not_updated': 'a state computed but not written back, so it stays at 0',
    'grad_not_zeroed': 'p.grad never cleared, so gradients accumulate across steps (PyTorch)',
    'wrong_sign': 'the update added instead of subtracted',
    'lr_in_velocity': 'momentum with the learning rate inside the velocity (equivalent at constant lr)',
    'lr_constant': "the learning rate written in as a number, not read from hyperparams['lr'] each step",
    'yogi_as_adam': "Yogi's second moment updated as Adam's",
    'adadelta_order': 'Adadelta with its averages updated in the wrong order',
}

#: the names the book gives each rule's states, in order
STATE_NAMES = {'momentum': ('v',), 'nesterov': ('v',), 'adagrad': ('s',), 'rmsprop': ('s',),
               'adadelta': ('s', 'delta'), 'adam': ('v', 's'), 'yogi': ('v', 's')}
#: the eps each rule uses when hyperparams has none (the book's constants)
BOOK_EPS = {'adagrad': 1e-6, 'rmsprop': 1e-6, 'adadelta': 1e-5, 'adam': 1e-6, 'yogi': 1e-3}
#: other eps values the book itself uses for a rule: matching one of them passes, with a note
BOOK_EPS_ALTERNATIVES = {'yogi': (1e-6,)}     # the book's TensorFlow tab
#: eps values a learner plausibly writes (framework defaults and powers of ten)
EPS_CANDIDATES = (1e-8, 1e-7, 1e-10, 1e-5, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 0.0)


@dataclass(frozen=True)
class Variant:
    """One known mistake: the rule as the mistaken learner computes it.

    ``t_of`` maps the true step count to the one the mistaken code uses;
    ``frozen_states`` lists the states never written back (they stay at their
    initial zeros); ``accumulate_grads`` feeds the sum of all gradients so far;
    ``fixed_lr`` keeps the first learning rate when the checker changes ``hp['lr']``
    mid-run (the variant is the rule itself: the checker's run of it ignores the change);
    ``passes`` marks an equivalent form (reported as passed, with a note).
    """

    code: str
    rule: Rule
    detail: str = ''
    t_of: Callable[[int], int] | None = None
    frozen_states: tuple[int, ...] = ()
    accumulate_grads: bool = False
    fixed_lr: bool = False
    passes: bool = False
    eps: float | None = None

    def as_rule(self) -> Rule:
        """The variant as a plain :class:`Rule` (t map and frozen states folded into update)."""
        update = self.rule.update
        if self.t_of is not None:
            update = _shift_t(update, self.t_of)
        if self.frozen_states:
            update = _freeze(update, self.frozen_states)
        return replace(self.rule, name=f'{self.rule.name}:{self.code}', update=update)


# ---------------------------------------------------------------- transformations of a rule

def with_hyperparams(rule: Rule, **override: float) -> Rule:
    """The rule run with some hyperparameters replaced (e.g. another eps)."""
    def update(p, g, state, hp, t, xp):
        return rule.update(p, g, state, {**hp, **override}, t, xp)
    return replace(rule, update=update)


def flipped(rule: Rule) -> Rule:
    """The rule's step with its sign reversed: p + (p - new_p)."""
    def update(p, g, state, hp, t, xp):
        new_p, new_state = rule.update(p, g, state, hp, t, xp)
        return p + (p - new_p), new_state
    return replace(rule, update=update)


def _shift_t(update: Callable, t_of: Callable[[int], int]) -> Callable:
    def shifted(p, g, state, hp, t, xp):
        return update(p, g, state, hp, t_of(t), xp)
    return shifted


def _freeze(update: Callable, frozen: tuple[int, ...]) -> Callable:
    def frozen_update(p, g, state, hp, t, xp):
        new_p, new_state = update(p, g, state, hp, t, xp)
        return new_p, tuple(old if i in frozen else new
                            for i, (old, new) in enumerate(zip(state, new_state)))
    return frozen_update


# ---------------------------------------------------------------- mistakes that are other formulas

def _eps(hp, rule_name):
    return hp.get('eps', BOOK_EPS[rule_name])


def adagrad_eps_outside(p, g, state, hp, t, xp):
    (s,) = state
    s = s + g * g
    return p - hp['lr'] * g / (xp.sqrt(s) + _eps(hp, 'adagrad')), (s,)


def rmsprop_eps_outside(p, g, state, hp, t, xp):
    (s,) = state
    gamma = hp['gamma']
    s = gamma * s + (1 - gamma) * (g * g)
    return p - hp['lr'] * g / (xp.sqrt(s) + _eps(hp, 'rmsprop')), (s,)


def rmsprop_no_one_minus(p, g, state, hp, t, xp):
    (s,) = state
    s = hp['gamma'] * s + g * g
    return p - hp['lr'] * g / xp.sqrt(s + _eps(hp, 'rmsprop')), (s,)


def _adadelta(outside: bool = False, one_minus_s: bool = True, one_minus_delta: bool = True,
              delta_first: bool = False, s_after: bool = False) -> Callable:
    """Adadelta with one of its known slips switched on."""
    def update(p, g, state, hp, t, xp):
        s, delta = state
        rho, eps = hp['rho'], _eps(hp, 'adadelta')
        s_new = rho * s + (1 - rho if one_minus_s else 1) * (g * g)
        s_used = s if s_after else s_new
        if outside:
            g_prime = (xp.sqrt(delta) + eps) / (xp.sqrt(s_used) + eps) * g
        else:
            g_prime = xp.sqrt(delta + eps) / xp.sqrt(s_used + eps) * g
        delta = rho * delta + (1 - rho if one_minus_delta else 1) * (g_prime * g_prime)
        if delta_first:     # the step uses the Delta-x average already updated with g'^2
            g_prime = xp.sqrt(delta + eps) / xp.sqrt(s_used + eps) * g
        return p - g_prime, (s_new, delta)
    return update


def _adam(one_minus_v: bool = True, one_minus_s: bool = True, correct_v: bool = True,
          correct_s: bool = True, eps_inside: bool = False, eps_default: float = 1e-6,
          yogi: bool = False) -> Callable:
    """Adam (or Yogi) with one of its known slips switched on."""
    def update(p, g, state, hp, t, xp):
        v, s = state
        beta1, beta2 = hp.get('beta1', 0.9), hp.get('beta2', 0.999)
        eps = hp.get('eps', eps_default)
        g2 = g * g
        v = beta1 * v + (1 - beta1 if one_minus_v else 1) * g
        if yogi:
            s = s + (1 - beta2 if one_minus_s else 1) * xp.sign(g2 - s) * g2
        else:
            s = beta2 * s + (1 - beta2 if one_minus_s else 1) * g2
        v_hat = v / (1 - beta1 ** t) if correct_v else v
        s_hat = s / (1 - beta2 ** t) if correct_s else s
        denom = xp.sqrt(s_hat + eps) if eps_inside else xp.sqrt(s_hat) + eps
        return p - hp['lr'] * v_hat / denom, (v, s)
    return update


def momentum_lr_in_velocity(p, g, state, hp, t, xp):
    """v <- beta v + lr g; x <- x - v (Keras/Gluon/cs231n): the book's v scaled by lr."""
    (u,) = state
    u = hp['momentum'] * u + hp['lr'] * g
    return p - u, (u,)


def nesterov_lr_in_velocity(p, g, state, hp, t, xp):
    """u <- beta u + lr g; x <- x - (lr g + beta u): torch's Nesterov with lr in u."""
    (u,) = state
    u = hp['momentum'] * u + hp['lr'] * g
    return p - (hp['lr'] * g + hp['momentum'] * u), (u,)


# ---------------------------------------------------------------- the list per rule

def _formula(rule: Rule, update: Callable) -> Rule:
    return replace(rule, update=update)


def variants(rule: Rule, grads_accumulate: bool = False) -> list[Variant]:
    """The known mistakes for ``rule``, most specific first.

    ``grads_accumulate``: the backend's ``backward`` adds into ``p.grad`` (PyTorch),
    so a book-form optimizer that never clears it sees accumulated gradients.
    """
    name = rule.name
    out: list[Variant] = []
    states = STATE_NAMES.get(name, ())
    add = lambda code, r, detail='', **kw: out.append(Variant(code, r, detail, **kw))  # noqa: E731

    if name == 'adagrad':
        f = _formula(rule, adagrad_eps_outside)
        for eps in (BOOK_EPS[name], 1e-10, 1e-8, 1e-7):
            add('eps_outside_sqrt', with_hyperparams(f, eps=eps), 'sqrt(s) + eps', eps=eps)
    if name == 'rmsprop':
        f = _formula(rule, rmsprop_eps_outside)
        for eps in (BOOK_EPS[name], 1e-8, 1e-10, 1e-7):
            add('eps_outside_sqrt', with_hyperparams(f, eps=eps), 'sqrt(s) + eps', eps=eps)
        add('missing_one_minus', _formula(rule, rmsprop_no_one_minus), 's = gamma * s + g**2')
    if name == 'adadelta':
        add('eps_outside_sqrt', _formula(rule, _adadelta(outside=True)),
            '(sqrt(delta) + eps) / (sqrt(s) + eps)')
        add('missing_one_minus', _formula(rule, _adadelta(one_minus_s=False, one_minus_delta=False)),
            's = rho * s + g**2 and delta = rho * delta + g_prime**2')
        add('missing_one_minus', _formula(rule, _adadelta(one_minus_s=False)), 's = rho * s + g**2')
        add('missing_one_minus', _formula(rule, _adadelta(one_minus_delta=False)),
            'delta = rho * delta + g_prime**2')
        add('adadelta_order', _formula(rule, _adadelta(delta_first=True)),
            'delta is updated with g_prime**2 before the step uses it')
        add('adadelta_order', _formula(rule, _adadelta(s_after=True)),
            's is updated after the step instead of before')
    if name in ('adam', 'yogi'):
        yogi, eps0 = name == 'yogi', BOOK_EPS[name]
        f = lambda **kw: _formula(rule, _adam(yogi=yogi, eps_default=eps0, **kw))  # noqa: E731
        add('no_bias_correction', f(correct_v=False, correct_s=False), 'neither v nor s is corrected')
        add('no_bias_correction', f(correct_s=False), 's is not corrected')
        add('no_bias_correction', f(correct_v=False), 'v is not corrected')
        add('missing_one_minus', f(one_minus_v=False, one_minus_s=False), 'in both v and s')
        add('missing_one_minus', f(one_minus_v=False), 'v = beta1 * v + g')
        add('missing_one_minus', f(one_minus_s=False), 's gets all of g**2, without (1 - beta2)')
        add('eps_inside_sqrt', f(eps_inside=True), 'sqrt(s_hat + eps)')
        add('t_not_advanced', rule, 'every step uses t = 1', t_of=lambda t: 1)
        add('bias_correction_t0', rule, 'the first step uses t = 0', t_of=lambda t: t - 1)
        add('t_advanced_early', rule, 'the first step uses t = 2', t_of=lambda t: t + 1)
        if yogi:
            adam = RULES['adam']
            for eps in (eps0, 1e-6, 1e-8):
                add('yogi_as_adam', with_hyperparams(adam, eps=eps), 'Adam with eps', eps=eps)
    if name in ('momentum', 'nesterov'):
        f = momentum_lr_in_velocity if name == 'momentum' else nesterov_lr_in_velocity
        add('lr_in_velocity', _formula(rule, f), 'v = beta * v + lr * g', passes=True)
    if 'lr' in rule.defaults:
        add('lr_constant', rule, 'the learning rate of the first step, kept', fixed_lr=True)
    if name in BOOK_EPS:
        for eps in EPS_CANDIDATES:
            # Adadelta with eps = 0 never moves (Delta-x starts at 0): that is not an eps slip
            if eps != BOOK_EPS[name] and not (eps == 0 and name == 'adadelta'):
                add('eps_value', with_hyperparams(rule, eps=eps), '', eps=eps,
                    passes=eps in BOOK_EPS_ALTERNATIVES.get(name, ()))
    if states:
        add('state_not_updated', rule, ' and '.join(states),
            frozen_states=tuple(range(len(states))))
        if len(states) > 1:
            for i, s in enumerate(states):
                add('state_not_updated', rule, s, frozen_states=(i,))
    if grads_accumulate:
        add('grad_not_zeroed', rule, '', accumulate_grads=True)
    add('wrong_sign', flipped(rule))
    return out
