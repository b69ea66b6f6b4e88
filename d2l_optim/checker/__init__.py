r"""``check(fn, rule)``: is a learner's optimizer the chapter's rule, and if not, what is wrong?

:func:`check` runs the learner's ``fn`` and the core rule side by side
(:mod:`~d2l_optim.checker.runs`; a 2-D trainer in :mod:`~d2l_optim.checker.two_d`) and
returns a :class:`~d2l_optim.checker.result.CheckResult`: truthy when they agree, with
the first step where they part, the size of the difference, and, when ``fn`` matches
one of the known mistakes of :mod:`d2l_optim.mistakes`, its code and a message that
says what to change. Every result is also left for graders as a JSON trace
(:data:`TRACE_ENV`, :data:`MIME_TYPE`; see :mod:`~d2l_optim.checker.result`).
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable, Mapping

import numpy as np

from ..backend import Backend, backend_record
from ..hyperparams import validate_hyperparams
from ..i18n import gettext as _
from ..mistakes import Variant, variants
from ..rules import EXTRA_RULES, Rule, get_rule
from .result import (AFTER_STOP, MIME_TYPE, TRACE_ENV, CheckResult, failed, message_for, mismatch,
                     record_trace, title)
from .runs import (ATOL, RTOL, BookRun, PureRun, RuleRun, airfoil_epoch, airfoil_rows, batches,
                   compare, describe, drive, matching_states, raised, seeded, state_arrays)
from .two_d import run_2d

__all__ = ['check', 'CheckResult', 'record_trace', 'TRACE_ENV', 'MIME_TYPE', 'RTOL', 'ATOL', 'FORMS']

#: the forms of a learner's function check tells apart (or is told with ``form=``)
FORMS = ('rule', 'book', '2d')


def check(fn: Callable, rule: str | Rule, backend: str | Backend | Any = 'numpy', steps: int = 50,
          seed: int = 0, *, hyperparams: Mapping[str, float] | None = None,
          f_grad: Callable | None = None, form: str | None = None, strict: bool = False) -> CheckResult:
    r"""Check a learner's optimizer ``fn`` against the chapter's ``rule``; see :class:`CheckResult`.

    ``fn`` may be written in any of three forms (told apart by its signature, or
    by ``form='rule' | 'book' | '2d'``):

    * a pure rule like the core's, ``fn(p, g, state, hp, t, xp) -> (new_p, new_state)``,
      ``state`` a tuple of arrays (``(s,)`` for RMSProp);
    * the book's optimizer for the backend, writing in place:
      ``fn(params, states, hyperparams)`` reading ``p.grad`` (PyTorch, MXNet) or
      ``fn(params, grads, states, hyperparams)`` (TensorFlow, NumPy, JAX); Adam and
      Yogi read ``hyperparams['t']`` (1 at the first step) and must advance it;
    * a book-style 2-D trainer ``fn(x1, x2, s1, s2) -> (x1, x2, s1, s2)`` (or with a
      fifth ``f_grad`` argument), hyperparameters read from its globals as in the
      book (``eta``, ``gamma``, ``beta`` for momentum, ...). Its gradient is
      ``f_grad`` if given, else that of the chapter's :math:`0.1 x_1^2 + 2 x_2^2`,
      which the book's 2-D cells write out as ``0.2 * x1, 4 * x2``.

    Both run on ``steps`` seeded gradients (float32 ``w`` (5, 1) and ``b`` (1,),
    gradient magnitudes from 1e-4 to 10 so that eps matters; the learning rate
    halves at step ``steps // 2 + 1``, as a scheduler would change it), then, if
    those agree and the airfoil data is on this machine, for one airfoil epoch
    (batch 10, 150 minibatches, each side's gradients at its own weights). A copy of the
    data that is there but corrupt raises :class:`~d2l_optim.data.DataError` (``run``'s
    message) before any step. The 2-D form runs ``steps`` steps from (-5, -2) instead.

    **Tolerance (float32):** ``fn`` agrees when every element of every parameter,
    after every step, is within ``1e-6 + 1e-4 * |reference|`` of the reference.
    Hyperparameters are the book's airfoil values (``Rule.defaults``) without
    ``eps``, so a learner may write the book's constant (1e-6; 1e-5 for Adadelta;
    1e-3 for Yogi, whose 1e-6 from the book's TensorFlow tab also passes, with a
    note) or read ``hp.get('eps', ...)``.

    ``fn`` gets arrays of its own on every backend (gradients, start parameters,
    states): writing into them (``g[:] = -g``, ``p -= lr * g`` in a pure rule) changes
    only its own run, never the reference's or the diagnosis's inputs.

    **Gradients on parameters.** On PyTorch the gradient is put into ``p.grad``
    by a ``backward()`` that accumulates, as a training loop's does, so an
    optimizer that never clears ``p.grad`` is caught (``grad_not_zeroed``). On
    MXNet parameters have ``attach_grad()``'s default ``grad_req='write'``: each
    backward overwrites ``p.grad``, a missing zeroing is harmless and is never
    reported.

    A ``fn`` that raises, returns the wrong shape or the wrong number of states
    gets ``passed=False`` and a message saying what it returned and what is
    expected. ``backend`` is a name (``'numpy'``, ``'torch'``, ...) or a backend's
    record; ``d2l.check(fn, rule)`` on a backend module binds it.
    ``strict=True`` (for an autograder's test cell) raises ``AssertionError`` with the
    message instead of returning a result that did not pass.

    ``hyperparams`` replace the book's values; a key the rule does not read (``gama``), a
    NaN or infinite value or one out of range raises ``ValueError`` naming it and the fix,
    before anything runs: a mistyped key would otherwise leave the check meaningless.

    A mistake is named only when its variant reproduces ``fn``'s parameters after every
    step to the tolerance above; one whose message says what ``fn`` does with its states
    (``state_not_updated``, ``step_uses_g``) must reproduce the states ``fn`` leaves too.
    """
    rule = EXTRA_RULES[rule] if isinstance(rule, str) and rule.lower() in EXTRA_RULES \
        else get_rule(rule)
    be = _backend(backend)
    if hyperparams is not None:
        if not isinstance(hyperparams, Mapping):
            raise TypeError(f"hyperparams must be a dict such as {{'lr': 0.01}}, got "
                            f"{type(hyperparams).__name__} {hyperparams!r}")
        validate_hyperparams({**rule.defaults, **hyperparams}, rule, unknown='error')
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if form is not None and form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    name = getattr(fn, '__name__', type(fn).__name__)
    base = dict(rule=rule.name, backend=be.name, fn=name, steps=steps)
    if not callable(fn):
        result = failed(_("check needs your optimizer function, got {what}.").format(what=describe(fn)),
                        **base, form='')
    else:
        kind, takes_f_grad, problem = _form_of(fn, be, form)
        if problem:
            result = failed(problem, **base, form=kind or '')
        else:
            with np.errstate(all='ignore'), warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)
                result = _run_check(fn, rule, be, kind, takes_f_grad, steps, seed,
                                    dict(hyperparams or {}), f_grad, base)
    record_trace(result)
    if strict and not result.passed:
        raise AssertionError(result.message)
    return result


# ---------------------------------------------------------------- forms

def _backend(backend: Any) -> Backend:
    try:
        return backend_record(backend)
    except TypeError:           # check's own word for a bad backend has always been a ValueError
        raise ValueError(f"backend must be a name such as 'numpy' or a backend module, got {backend!r}") from None


def _form_of(fn: Callable, be: Backend, form: str | None) -> tuple[str | None, bool, str | None]:
    """('rule' | 'book' | '2d', whether a 2-D trainer takes f_grad, a problem or None)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return form, False, None if form else _("check cannot read fn's arguments; pass form='rule', 'book' or '2d'.")
    positional = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    names = [p.name for p in positional]
    n = len(required)
    book_args = ('params, states, hyperparams' if be.grads_on_params
                 else 'params, grads, states, hyperparams')
    if form is None:
        if n == 6:
            form = 'rule'
        elif n == 3 and be.grads_on_params:
            form = 'book'
        elif n in (4, 5) and (be.grads_on_params or names[0].startswith('x')
                              or hasattr(fn, 'hyperparams')):
            form = '2d'
        elif n == 4:
            form = 'book'
        else:
            return None, False, _(
                "Your {fn} takes {n} argument(s) ({names}).\n"
                "check expects a rule fn(p, g, state, hp, t, xp), the book's optimizer "
                "fn({book_args}) on {backend}, or a 2-D trainer fn(x1, x2, s1, s2).").format(
                fn=getattr(fn, '__name__', 'fn'), n=n, names=', '.join(names), book_args=book_args,
                backend=be.name)
    if form == 'book' and n != (3 if be.grads_on_params else 4):
        return form, False, _(
            "Your {fn}({names}) takes {n} argument(s); "
            "on {backend} the book's optimizer is fn({book_args}).").format(
            fn=getattr(fn, '__name__', 'fn'), names=', '.join(names), n=n, backend=be.name,
            book_args=book_args)
    return form, form == '2d' and len(positional) >= 5, None


# ---------------------------------------------------------------- the verdict

def _start_hp(rule: Rule, hyperparams: dict) -> dict:
    hp = {**rule.defaults, **hyperparams}
    if rule.uses_t:
        hp.setdefault('t', 1)
    return hp


def _run_check(fn, rule, be, kind, takes_f_grad, steps, seed, hyperparams, f_grad, base) -> CheckResult:
    base = {**base, 'form': kind}
    if kind == '2d':
        return run_2d(fn, rule, steps, takes_f_grad, hyperparams, f_grad, base)
    data = airfoil_rows()           # first: a corrupt copy of the data is named before any step
    hp = _start_hp(rule, hyperparams)
    p0, grads = seeded(seed, steps)
    lr_step = steps // 2 + 1 if 'lr' in hp and steps >= 4 else None
    make = (lambda start: PureRun(fn, rule, be, start, hp)) if kind == 'rule' else \
        (lambda start: BookRun(fn, rule, be, start, hp))
    problems: list = []
    try:
        learner = make(p0)
    except Exception as e:
        return failed(_("Setting up your {fn} failed: {error}").format(fn=base['fn'], error=raised(e)),
                      **base)
    learner_states: list = []
    reference_states: list = []
    actual = drive(learner, grads, lr_step, problems, learner_states)
    expected = drive(RuleRun(rule, p0, hp), grads, lr_step, [], reference_states)
    first, max_abs, max_rel = compare(actual, expected)
    if problems:
        k, text = problems[0]
        return CheckResult(False, k, max_abs, max_rel, None,
                           _("{who} stopped at step {k}: {problem}").format(who=title(base), k=k, problem=text)
                           + '\n' + _(AFTER_STOP), **base)
    equivalent = None
    if first is not None:
        accumulates = kind == 'book' and be.grads_on_params and be.grads_accumulate
        found = _diagnose(actual, matching_states(learner_states, reference_states), rule, p0, hp,
                          grads, lr_step, accumulates)
        if found is None or not found.passes:
            return mismatch(found, first, max_abs, max_rel, rule, base, lr_step)
        equivalent = found
    # the airfoil epoch
    note = ''
    if data is None:
        note = _(' (the airfoil data is not on this machine: seeded steps only)')
    else:
        # an equivalent form (another of the book's eps) is followed on the airfoil data too
        target = equivalent.as_rule() if equivalent is not None else rule
        a_first, a_abs, a_rel, problem = airfoil_epoch(make, target, hp, data, seed, steps)
        max_abs, max_rel = max(max_abs, a_abs), max(max_rel, a_rel)
        if problem:
            return CheckResult(False, a_first, max_abs, max_rel, None,
                               _("{who} stopped {problem}").format(who=title(base), problem=problem)
                               + '\n' + _(AFTER_STOP), **base)
        if a_first is not None:
            text = _("{who} agrees on the {steps} seeded steps but not on the airfoil data, "
                     "from minibatch {k} on (largest difference {max_abs:.2g}).\n"
                     "Look for code that depends on the data, the batch size or the step count.").format(
                who=title(base), steps=steps, k=a_first - steps, max_abs=a_abs)
            return CheckResult(False, a_first, max_abs, max_rel, None, text, **base)
        note = _(' and one airfoil epoch ({n} minibatches)').format(n=len(batches(data, seed)))
    if equivalent is not None:
        return CheckResult(True, first, max_abs, max_rel, equivalent.code,
                           message_for(equivalent, rule, first, max_abs, base, lr_step), **base)
    return CheckResult(True, None, max_abs, max_rel, None,
                       _("{who} matches the reference {r}: {steps} seeded steps{note}.\n"
                         "Largest difference {max_abs:.2g} (tolerance 1e-6 + 1e-4 x |value|).").format(
                           who=title(base), r=rule.name, steps=steps, note=note, max_abs=max_abs), **base)


def _diagnose(actual, states, rule, p0, hp, grads, lr_step, accumulates) -> Variant | None:
    """The first known mistake whose run matches ``actual`` at every step (and the learner's
    ``states`` too, where the mistake's message says what the learner does with them and
    they can be read)."""
    for variant in variants(rule, grads_accumulate=accumulates):
        run = RuleRun(variant.as_rule(), p0, hp, accumulate=variant.accumulate_grads)
        with_states = variant.reads_states and states is not None
        for k, (g, want) in enumerate(zip(grads, actual), 1):     # stop at the first step off
            if k == lr_step and not variant.fixed_lr:
                run.hp['lr'] = run.hp['lr'] * 0.5
            got = run.step(g)
            if with_states:
                want, got = want + states[k - 1], got + state_arrays(run.states)
            if compare([want], [got])[0] is not None:
                break
        else:
            return variant
    return None
