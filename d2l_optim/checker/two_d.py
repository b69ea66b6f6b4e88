"""``check`` of a book-style 2-D trainer ``fn(x1, x2, s1, s2) -> (x1, x2, s1, s2)``.

The trainer's hyperparameters are read as the book's 2-D cells keep them: from its
``hyperparams`` (a :func:`d2l_optim.trajectories.trainer_2d`) or from its module's globals
(``eta``, ``gamma``, ``beta`` for momentum, ...). Both it and the reference rule run
``steps`` steps from (-5, -2); a difference is matched against the known mistakes.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from ..i18n import gettext as _
from ..trajectories import trainer_2d
from ..mistakes import Variant, variants
from ..ops import to_scalar
from ..rules import Rule
from .result import AFTER_STOP, CheckResult, failed, message_for, mismatch, title
from .runs import FnProblem, compare, describe, matching_states, raised

#: where the 2-D trainers start, as train_2d does
X0_2D = (-5.0, -2.0)
_2D_GLOBALS = (('lr', 'lr'), ('eta', 'lr'), ('gamma', 'gamma'), ('momentum', 'momentum'),
               ('beta', 'momentum'), ('rho', 'rho'), ('beta1', 'beta1'), ('beta2', 'beta2'))


def _hp_2d(fn: Callable, rule: Rule, hyperparams: dict) -> dict:
    own = getattr(fn, 'hyperparams', None)
    if isinstance(own, Mapping):
        hp = {k: v for k, v in own.items() if k != 't'}
    else:
        hp, found = dict(rule.defaults), getattr(fn, '__globals__', {})
        for name, key in _2D_GLOBALS:
            value = found.get(name)
            if key in rule.defaults and isinstance(value, (int, float)) and not isinstance(value, bool):
                hp[key] = float(value)
    hp.update(hyperparams)
    return hp


def _default_f_grad(x1: float, x2: float) -> tuple[float, float]:
    """The gradient of the chapter's 0.1 x1^2 + 2 x2^2 (11.6-11.8)."""
    return 0.2 * x1, 4 * x2


def _states_2d(s1: Any, s2: Any) -> list[np.ndarray] | None:
    """A 2-D trainer's states (numbers, or tuples of numbers for two-state rules) as arrays,
    or None when they are not numbers."""
    try:
        return [np.array([to_scalar(x) for x in (s if isinstance(s, (tuple, list)) else (s,))])
                for s in (s1, s2)]
    except (ValueError, TypeError):
        return None


def run_2d(fn: Callable, rule: Rule, steps: int, takes_f_grad: bool, hyperparams: dict,
           f_grad: Callable | None, base: dict[str, Any]) -> CheckResult:
    """The learner's 2-D trainer ``fn`` against ``rule`` for ``steps`` steps from :data:`X0_2D`."""
    f_grad = f_grad or _default_f_grad
    hp = _hp_2d(fn, rule, hyperparams)
    name = base['fn']

    learner_states: list = []

    def learner_traj() -> tuple[list, tuple | None]:
        x1, x2, s1, s2 = X0_2D[0], X0_2D[1], 0, 0
        out = []
        for k in range(1, steps + 1):
            try:
                got = fn(x1, x2, s1, s2, f_grad) if takes_f_grad else fn(x1, x2, s1, s2)
                if not isinstance(got, (tuple, list)) or len(got) != 4:
                    raise FnProblem(_("Your {fn} returned {what}; a 2-D trainer "
                                      "returns (x1, x2, s1, s2).").format(fn=name, what=describe(got)))
                x1, x2, s1, s2 = got
                try:
                    point = np.array([to_scalar(x1), to_scalar(x2)])
                except (ValueError, TypeError):
                    raise FnProblem(_("Your {fn} returned x1 = {x1} and x2 = "
                                      "{x2}; each should be one number.").format(
                        fn=name, x1=describe(x1), x2=describe(x2))) from None
            except FnProblem as e:
                return out, (k, str(e))
            except Exception as e:
                return out, (k, raised(e))
            out.append([point])
            learner_states.append(_states_2d(s1, s2))
        return out, None

    def rule_traj(r: Rule) -> tuple[list, list]:
        trainer = trainer_2d(r, f_grad, **dict(hp))
        x1, x2, s1, s2 = X0_2D[0], X0_2D[1], 0, 0
        out, states = [], []
        for _ in range(steps):
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
            out.append([np.array([float(x1), float(x2)])])
            states.append(_states_2d(s1, s2))
        return out, states

    actual, problem = learner_traj()
    try:
        expected, reference_states = rule_traj(rule)
    except ValueError as e:      # hyperparameters from the globals out of range
        return failed(_("{who}: the hyperparameters {hp} are not usable: {error}").format(
            who=title(base), hp=hp, error=e), **base)
    first, max_abs, max_rel = compare(actual, expected)
    if problem:
        k, text = problem
        return CheckResult(False, k, max_abs, max_rel, None,
                           _("{who} stopped at step {k}: {problem}").format(who=title(base), k=k, problem=text)
                           + '\n' + _(AFTER_STOP), **base)
    if first is None:
        return CheckResult(True, None, max_abs, max_rel, None,
                           _("{who} matches the reference {r}: {steps} steps from "
                             "{start} with {hp}.\nLargest difference {max_abs:.2g}.").format(
                               who=title(base), r=rule.name, steps=steps, start=X0_2D, hp=hp,
                               max_abs=max_abs), **base)
    seen_states = matching_states(learner_states, reference_states)

    def matches(variant: Variant) -> bool:
        """``variant`` gives the learner's points (and its states, where its message speaks of them)."""
        try:
            points, states = rule_traj(variant.as_rule())
        except ArithmeticError:     # on floats, t = 0's bias correction divides by zero
            return False
        if variant.reads_states and seen_states is not None:
            return compare([a + s for a, s in zip(actual, seen_states)],
                           [b + s for b, s in zip(points, states)])[0] is None
        return compare(actual, points)[0] is None

    for variant in variants(rule):
        if variant.accumulate_grads or variant.fixed_lr:     # no gradients to sum, no lr change
            continue
        if matches(variant):
            if variant.passes:
                return CheckResult(True, first, max_abs, max_rel, variant.code,
                                   message_for(variant, rule, first, max_abs, base, None), **base)
            return mismatch(variant, first, max_abs, max_rel, rule, base, None)
    return mismatch(None, first, max_abs, max_rel, rule, base, None, hp=hp)
