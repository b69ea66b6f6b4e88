r"""A rule as a learner with one particular mistake computes it: :class:`Variant`.

Most variants are transformations of the one reference rule in :mod:`d2l_optim.rules`
(another eps, t frozen or shifted, a state never written back, the step's sign flipped);
only a mistake that is a different formula (eps outside the root, no bias correction, a
dropped :math:`1 - \gamma`, Adadelta's order, the learning rate in the velocity, the right
state kept but the wrong variable in the step) is written out here, once. Like the rules,
these bodies read ``hp['eps']`` and the betas without a default: :func:`formula` gives them to a rule, which fills ``hp`` in.
The package :mod:`d2l_optim.mistakes` says which variants each mistake has and what to tell the learner.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from ..rules import AdadeltaState, AdamState, Rule, SquaresState, VelocityState, fills


@dataclass(frozen=True)
class Variant:
    """One known mistake's version of a rule: the rule as the mistaken learner computes it.

    ``t_of`` maps the true step count to the one the mistaken code uses;
    ``frozen_states`` lists the states never written back (they stay at their
    initial zeros); ``accumulate_grads`` feeds the sum of all gradients so far;
    ``fixed_lr`` keeps the first learning rate when the checker changes ``hp['lr']``
    mid-run (the variant is the rule itself: the checker's run of it ignores the change);
    ``passes`` marks an equivalent form (reported as passed, with a note); ``detail`` is
    what the mistaken code computes and ``expected`` the book's formula there, both as a
    message shows them; ``reads_states`` marks a variant whose message says what the learner
    does with its states (writes them back or not): the checker then matches the learner's
    states too, not only its parameters; ``code`` is the mistake's (:data:`d2l_optim.mistakes.CODES`), set by
    the mistake that makes it.
    """

    rule: Rule
    detail: str = ''
    t_of: Callable[[int], int] | None = None
    frozen_states: tuple[int, ...] = ()
    accumulate_grads: bool = False
    fixed_lr: bool = False
    passes: bool = False
    eps: float | None = None
    expected: str = ''
    reads_states: bool = False
    code: str = ''

    def as_rule(self) -> Rule:
        """The variant as a plain :class:`Rule` (t map and frozen states folded into update)."""
        update = self.rule.update
        if self.t_of is not None:
            update = shift_t(update, self.t_of)
        if self.frozen_states:
            update = freeze(update, self.frozen_states)
        return replace(self.rule, name=f'{self.rule.name}:{self.code}', update=update)


# ---------------------------------------------------------------- transformations of a rule

def formula(rule: Rule, body: Callable) -> Rule:
    """``rule`` computed by another ``body``, which sees ``hp`` filled in from ``rule``."""
    return replace(rule, update=fills(body))


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


def shift_t(update: Callable, t_of: Callable[[int], int]) -> Callable:
    """``update`` run with the step count ``t_of(t)`` in place of ``t``."""
    def shifted(p, g, state, hp, t, xp):
        return update(p, g, state, hp, t_of(t), xp)
    return shifted


def freeze(update: Callable, frozen: tuple[int, ...]) -> Callable:
    """``update`` whose states numbered ``frozen`` are never written back."""
    def frozen_update(p, g, state, hp, t, xp):
        new_p, new_state = update(p, g, state, hp, t, xp)
        return new_p, tuple(old if i in frozen else new
                            for i, (old, new) in enumerate(zip(state, new_state)))
    return frozen_update


# ---------------------------------------------------------------- mistakes that are other formulas

def adagrad_eps_outside(p, g, state, hp, t, xp):
    """Adagrad with eps outside the root."""
    (s,) = state
    s = s + g * g
    return p - hp['lr'] * g / (xp.sqrt(s) + hp['eps']), SquaresState(s)


def rmsprop_eps_outside(p, g, state, hp, t, xp):
    """RMSProp with eps outside the root."""
    (s,) = state
    gamma = hp['gamma']
    s = gamma * s + (1 - gamma) * (g * g)
    return p - hp['lr'] * g / (xp.sqrt(s) + hp['eps']), SquaresState(s)


def adagrad_no_sqrt(p, g, state, hp, t, xp):
    """Adagrad dividing by s + eps, not by its square root."""
    (s,) = state
    s = s + g * g
    return p - hp['lr'] * g / (s + hp['eps']), SquaresState(s)


def rmsprop_no_sqrt(p, g, state, hp, t, xp):
    """RMSProp dividing by s + eps, not by its square root."""
    (s,) = state
    gamma = hp['gamma']
    s = gamma * s + (1 - gamma) * (g * g)
    return p - hp['lr'] * g / (s + hp['eps']), SquaresState(s)


def rmsprop_no_one_minus(p, g, state, hp, t, xp):
    """RMSProp whose average gets all of g**2."""
    (s,) = state
    s = hp['gamma'] * s + g * g
    return p - hp['lr'] * g / xp.sqrt(s + hp['eps']), SquaresState(s)


def adadelta_with(outside: bool = False, one_minus_s: bool = True, one_minus_delta: bool = True,
                  delta_first: bool = False, s_after: bool = False, sqrt: bool = True,
                  step_g: bool = False) -> Callable:
    """Adadelta with one of its known slips switched on."""
    def update(p, g, state, hp, t, xp):
        s, delta = state
        rho, eps = hp['rho'], hp['eps']
        s_new = rho * s + (1 - rho if one_minus_s else 1) * (g * g)
        s_used = s if s_after else s_new
        if outside:
            g_prime = (xp.sqrt(delta) + eps) / (xp.sqrt(s_used) + eps) * g
        elif not sqrt:
            g_prime = (delta + eps) / (s_used + eps) * g
        else:
            g_prime = xp.sqrt(delta + eps) / xp.sqrt(s_used + eps) * g
        delta = rho * delta + (1 - rho if one_minus_delta else 1) * (g_prime * g_prime)
        if delta_first:     # the step uses the Delta-x average already updated with g'^2
            g_prime = xp.sqrt(delta + eps) / xp.sqrt(s_used + eps) * g
        return p - (g if step_g else g_prime), AdadeltaState(s_new, delta)
    return update


def adam_with(one_minus_v: bool = True, one_minus_s: bool = True, correct_v: bool = True,
              correct_s: bool = True, eps_inside: bool = False, yogi: bool = False,
              sqrt: bool = True, step_g: bool = False) -> Callable:
    """Adam (or Yogi) with one of its known slips switched on."""
    def update(p, g, state, hp, t, xp):
        v, s = state
        beta1, beta2, eps = hp['beta1'], hp['beta2'], hp['eps']
        g2 = g * g
        v = beta1 * v + (1 - beta1 if one_minus_v else 1) * g
        if yogi:
            s = s + (1 - beta2 if one_minus_s else 1) * xp.sign(g2 - s) * g2
        else:
            s = beta2 * s + (1 - beta2 if one_minus_s else 1) * g2
        v_hat = v / (1 - beta1 ** t) if correct_v else v
        s_hat = s / (1 - beta2 ** t) if correct_s else s
        denom = xp.sqrt(s_hat + eps) if eps_inside else xp.sqrt(s_hat) + eps if sqrt else s_hat + eps
        return p - hp['lr'] * (g if step_g else v_hat) / denom, AdamState(v, s)
    return update


def momentum_lr_in_velocity(p, g, state, hp, t, xp):
    """v <- beta v + lr g; x <- x - v (Keras/Gluon/cs231n): the book's v scaled by lr."""
    (u,) = state
    u = hp['momentum'] * u + hp['lr'] * g
    return p - u, VelocityState(u)


def nesterov_lr_in_velocity(p, g, state, hp, t, xp):
    """u <- beta u + lr g; x <- x - (lr g + beta u): torch's Nesterov with lr in u."""
    (u,) = state
    u = hp['momentum'] * u + hp['lr'] * g
    return p - (hp['lr'] * g + hp['momentum'] * u), VelocityState(u)


def momentum_steps_with_g(p, g, state, hp, t, xp):
    """Momentum (or Nesterov) keeping v = beta v + g but stepping with the raw gradient."""
    (v,) = state
    v = hp['momentum'] * v + g
    return p - hp['lr'] * g, VelocityState(v)
