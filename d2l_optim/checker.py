r"""``check(fn, rule)``: is a learner's optimizer the chapter's rule, and if not, what is wrong?

:func:`check` runs the learner's ``fn`` and the core rule side by side and
returns a :class:`CheckResult`: truthy when they agree, with the first step
where they part, the size of the difference, and, when ``fn`` matches one of
the known mistakes of :mod:`d2l_optim.mistakes`, its code and a message that
says what to change.

For graders every call also leaves a machine-readable trace, in two places:

* displayed in a notebook, the result's output carries a JSON MIME bundle
  (:data:`MIME_TYPE`, the fields of :meth:`CheckResult.to_json`) beside its text;
* when the environment variable :data:`TRACE_ENV` (``D2L_OPTIM_CHECK_LOG``) names a
  file, each result is appended to it as one JSON line, whether or not it is
  displayed (assigned, printed, called inside a loop). ``d2l-optim lab grade`` sets
  it for each kernel and gives a cell the lines that appeared while it ran.
"""
from __future__ import annotations

import dataclasses

import functools
import inspect
import json
import math
import os
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .backend import Backend, load_backend
from .mistakes import BOOK_EPS, STATE_NAMES, Variant, variants
from .ops import numpy_ops, to_numpy, to_scalar
from .rules import EXTRA_RULES, Rule, apply_rule, get_rule

#: an element agrees when |fn - reference| <= ATOL + RTOL * |reference|, after every step
RTOL, ATOL = 1e-4, 1e-6
#: the environment variable naming the JSON-lines file each check result is appended to
TRACE_ENV = 'D2L_OPTIM_CHECK_LOG'
#: the MIME type of the result's JSON in a notebook's outputs
MIME_TYPE = 'application/vnd.d2l-optim.check+json'
#: where the 2-D trainers start, as train_2d does
X0_2D = (-5.0, -2.0)
SHAPES = ((5, 1), (1,))         # w and b of the airfoil model
FORMS = ('rule', 'book', '2d')
_2D_GLOBALS = (('lr', 'lr'), ('eta', 'lr'), ('gamma', 'gamma'), ('momentum', 'momentum'),
               ('beta', 'momentum'), ('rho', 'rho'), ('beta1', 'beta1'), ('beta2', 'beta2'))


@dataclass
class CheckResult:
    """What :func:`check` found. Truthy when ``fn`` agrees with the reference rule.

    ``first_bad_step`` counts from 1 over the seeded steps and then on over the
    airfoil minibatches (``steps + k`` is minibatch ``k``); ``mistake`` is a code
    of :data:`d2l_optim.mistakes.CODES` or None.
    """

    passed: bool
    first_bad_step: int | None
    max_abs_error: float
    max_rel_error: float
    mistake: str | None
    message: str
    rule: str = ''
    backend: str = ''
    form: str = ''
    fn: str = ''
    steps: int = 0

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.message)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {'text/plain': self.message, MIME_TYPE: self.to_json()}

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ('max_abs_error', 'max_rel_error'):
            d[k] = d[k] if math.isfinite(d[k]) else None
        return d


class _FnProblem(Exception):
    """fn returned something of the wrong kind; the message says what and what is expected."""


def check(fn: Callable, rule: str | Rule, backend: str | Backend | Any = 'numpy', steps: int = 50,
          seed: int = 0, *, hyperparams: Mapping[str, float] | None = None,
          f_grad: Callable | None = None, form: str | None = None) -> CheckResult:
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
    (batch 10, 150 minibatches, each side's gradients at its own weights). The
    2-D form runs ``steps`` steps from (-5, -2) instead.

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
    """
    rule = EXTRA_RULES[rule] if isinstance(rule, str) and rule.lower() in EXTRA_RULES \
        else get_rule(rule)
    be = _backend_record(backend)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if form is not None and form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    name = getattr(fn, '__name__', type(fn).__name__)
    base = dict(rule=rule.name, backend=be.name, fn=name, steps=steps)
    if not callable(fn):
        result = _failed(f"check needs your optimizer function, got {_describe(fn)}.", **base, form='')
    else:
        kind, takes_f_grad, problem = _form_of(fn, be, form)
        if problem:
            result = _failed(problem, **base, form=kind or '')
        else:
            with np.errstate(all='ignore'), warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)
                result = _run_check(fn, rule, be, kind, takes_f_grad, steps, seed,
                                    dict(hyperparams or {}), f_grad, base)
    record_trace(result)
    return result


# ---------------------------------------------------------------- forms

def _backend_record(backend: Any) -> Backend:
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        return load_backend(backend).BACKEND
    record = getattr(backend, 'BACKEND', None)
    if isinstance(record, Backend):
        return record
    raise ValueError(f"backend must be a name such as 'numpy' or a backend module, got {backend!r}")


def _form_of(fn: Callable, be: Backend, form: str | None) -> tuple[str | None, bool, str | None]:
    """('rule' | 'book' | '2d', whether a 2-D trainer takes f_grad, a problem or None)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return form, False, None if form else "check cannot read fn's arguments; pass form='rule', 'book' or '2d'."
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
            return None, False, (
                f"Your {getattr(fn, '__name__', 'fn')} takes {n} argument(s) ({', '.join(names)}).\n"
                f"check expects a rule fn(p, g, state, hp, t, xp), the book's optimizer "
                f"fn({book_args}) on {be.name}, or a 2-D trainer fn(x1, x2, s1, s2).")
    if form == 'book' and n != (3 if be.grads_on_params else 4):
        return form, False, (
            f"Your {getattr(fn, '__name__', 'fn')}({', '.join(names)}) takes {n} argument(s); "
            f"on {be.name} the book's optimizer is fn({book_args}).")
    return form, form == '2d' and len(positional) >= 5, None


# ---------------------------------------------------------------- the runs

def _seeded(seed: int, steps: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Start weights and ``steps`` gradients; each element has its own magnitude, 1e-4 to 10."""
    rng = np.random.default_rng(seed)
    p0 = [rng.normal(0.0, 1.0, s).astype(np.float32) for s in SHAPES]
    sizes = [int(np.prod(s)) for s in SHAPES]
    scales = rng.permutation(10.0 ** np.linspace(-4, 1, sum(sizes)))
    parts = np.split(scales, np.cumsum(sizes)[:-1])
    grads = [[(sc.reshape(s) * rng.normal(0.0, 1.0, s)).astype(np.float32)
              for sc, s in zip(parts, SHAPES)] for _ in range(steps)]
    return p0, grads


@functools.lru_cache(maxsize=1)
def _airfoil() -> tuple[np.ndarray, np.ndarray] | None:
    """The first 1500 airfoil rows if a copy is on this machine (no download), else None."""
    from .data import DataError, find_local, read_airfoil
    path = find_local('airfoil')
    if path is None:
        return None
    try:
        data = read_airfoil(path)
    except (DataError, OSError):
        return None
    return np.ascontiguousarray(data[:1500, :-1]), np.ascontiguousarray(data[:1500, -1])


def _copy(x: Any) -> np.ndarray:
    return np.array(to_numpy(x), dtype=np.float32, copy=True)


def _own(make: Callable[[np.ndarray], Any], x: np.ndarray) -> Any:
    """``make`` (a backend's tensor, parameter or state) applied to a private copy of ``x``.

    The learner gets arrays of its own: NumPy's ``tensor`` is ``np.asarray`` and
    PyTorch's is ``torch.from_numpy``, both sharing memory with what they are given,
    and a learner may write into its gradients (``g[:] = -g``) or, in a pure rule,
    into ``p`` (``p -= lr * g``). The reference run and the diagnosis must never see that.
    """
    return make(np.array(x, dtype=np.float32, copy=True))


class _RuleRun:
    """A reference (or variant) rule on float32 NumPy arrays, through apply_rule."""

    def __init__(self, rule: Rule, p0: Sequence[np.ndarray], hp: dict, accumulate: bool = False):
        self.rule, self.hp, self.accumulate = rule, dict(hp), accumulate
        self.params, self.states, self.total = [p.copy() for p in p0], None, None

    def step(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        if self.accumulate:
            self.total = grads if self.total is None else [a + g for a, g in zip(self.total, grads)]
            grads = self.total
        self.params, self.states = apply_rule(self.rule, self.params, grads, self.states,
                                              self.hp, numpy_ops)
        return [np.asarray(p, dtype=np.float32) for p in self.params]


class _PureRun:
    """The learner's ``fn(p, g, state, hp, t, xp)`` on the backend's arrays."""

    def __init__(self, fn: Callable, rule: Rule, be: Backend, p0: Sequence[np.ndarray], hp: dict):
        self.be, self.hp = be, dict(hp)
        self.params, self.states = [_own(be.tensor, p) for p in p0], None
        name = getattr(fn, '__name__', 'fn')
        names = STATE_NAMES.get(rule.name, ())
        expect = f"({', '.join(names)},)" if len(names) == 1 else f"({', '.join(names)})"

        def update(p, g, state, hp, t, xp):
            out = fn(p, g, state, hp, t, xp)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise _FnProblem(f"Your {name} returned {_describe(out)}; a rule returns "
                                 f"(new_p, new_state), new_state a tuple like {expect if names else '()'}.")
            new_p, new_state = out
            _same_shape(new_p, p, f"the new p your {name} returned")
            if not isinstance(new_state, (tuple, list)) or len(new_state) != rule.n_states:
                raise _FnProblem(
                    f"Your {name} returned a state of {_describe(new_state)}; {rule.name} keeps "
                    f"{rule.n_states} state array(s): return {expect if names else '()'}.")
            for i, s in enumerate(new_state):
                _same_shape(s, p, f"state {names[i] if i < len(names) else i} returned by your {name}")
            return new_p, tuple(new_state)
        self.rule = dataclasses.replace(rule, update=update)

    def step(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        gs = [_own(self.be.tensor, g) for g in grads]
        self.params, self.states = apply_rule(self.rule, self.params, gs, self.states, self.hp,
                                              self.be.xp)
        return [_copy(p) for p in self.params]


class _BookRun:
    """The learner's book-form optimizer writing parameters and states in place."""

    def __init__(self, fn: Callable, rule: Rule, be: Backend, p0: Sequence[np.ndarray], hp: dict):
        self.fn, self.be, self.hp, self.name = fn, be, dict(hp), getattr(fn, '__name__', 'fn')
        self.params = [_own(be.parameter, p) for p in p0]
        per_param = [tuple(_own(be.state, np.zeros(p.shape)) for _ in range(rule.n_states))
                     for p in p0]
        self.states = None if rule.n_states == 0 else \
            [s[0] for s in per_param] if rule.n_states == 1 else per_param

    def step(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        be = self.be
        gs = [_own(be.tensor, g) for g in grads]
        if be.grads_on_params:
            loss = lambda: sum((p * g).sum() for p, g in zip(self.params, gs))  # noqa: E731
            if be.backward is not None:
                be.backward(loss)            # as a training loop's backward: accumulates on PyTorch
            else:
                be.gradients(loss, self.params, lambda: gs)
            self.fn(self.params, self.states, self.hp)
        else:
            self.fn(self.params, gs, self.states, self.hp)
        if not isinstance(self.params, list) or len(self.params) != len(SHAPES):
            raise _FnProblem(f"After your {self.name} the params list holds "
                             f"{_describe(self.params)}; it should still hold w and b.")
        out = []
        for p, shape, label in zip(self.params, SHAPES, ('w', 'b')):
            _same_shape(p, np.zeros(shape), f"{label} after your {self.name}")
            out.append(_copy(p))
        return out


def _same_shape(x: Any, like: Any, what: str) -> None:
    try:
        shape = tuple(to_numpy(x).shape)
    except Exception:
        raise _FnProblem(f"{what[0].upper() + what[1:]} is {_describe(x)}, not an array.") from None
    want = tuple(getattr(like, 'shape', ()))
    if shape != want:
        raise _FnProblem(f"{what[0].upper() + what[1:]} has shape {shape}; it should have "
                         f"shape {want}, like the parameter.")


def _describe(x: Any) -> str:
    if x is None:
        return 'None'
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} value{'s' if len(x) != 1 else ''}"
    shape = getattr(x, 'shape', None)
    if shape is not None:
        return f"an array of shape {tuple(shape)}"
    return f"a {type(x).__name__} ({x!r})"[:80]


def _compare(actual: Sequence[list[np.ndarray]], expected: Sequence[list[np.ndarray]],
             offset: int = 0) -> tuple[int | None, float, float]:
    """(first step out of tolerance or None, largest absolute and relative difference)."""
    first, max_abs, max_rel = None, 0.0, 0.0
    for k, (a_step, r_step) in enumerate(zip(actual, expected), 1 + offset):
        for a, r in zip(a_step, r_step):
            a, r = np.asarray(a, np.float64), np.asarray(r, np.float64)
            both_nan = np.isnan(a) & np.isnan(r)
            err = np.where(both_nan, 0.0, np.abs(a - r))
            err = np.where(np.isnan(err), np.inf, err)
            bad = err > ATOL + RTOL * np.abs(np.nan_to_num(r))
            max_abs = max(max_abs, float(err.max(initial=0.0)))
            rel = err / np.maximum(np.abs(np.nan_to_num(r)), ATOL)
            max_rel = max(max_rel, float(rel.max(initial=0.0)))
            if first is None and bad.any():
                first = k
    return first, max_abs, max_rel


def _drive(runner: Any, grads: Sequence[list[np.ndarray]], lr_step: int | None,
           problems: list) -> list[list[np.ndarray]]:
    """Step ``runner`` through ``grads``; an exception or a bad return ends the run in ``problems``."""
    out = []
    for k, g in enumerate(grads, 1):
        if k == lr_step:
            runner.hp['lr'] = runner.hp['lr'] * 0.5
        try:
            out.append(runner.step(g))
        except _FnProblem as e:
            problems.append((k, str(e)))
            break
        except Exception as e:     # the learner's code raised: report it, not a traceback
            problems.append((k, _raised(e)))
            break
    return out


def _raised(e: BaseException) -> str:
    text = ' '.join(str(e).split())
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


def _start_hp(rule: Rule, hyperparams: dict) -> dict:
    hp = {**rule.defaults, **hyperparams}
    if rule.uses_t:
        hp.setdefault('t', 1)
    return hp


def _run_check(fn, rule, be, kind, takes_f_grad, steps, seed, hyperparams, f_grad, base) -> CheckResult:
    base = {**base, 'form': kind}
    if kind == '2d':
        return _run_2d(fn, rule, steps, takes_f_grad, hyperparams, f_grad, base)
    hp = _start_hp(rule, hyperparams)
    p0, grads = _seeded(seed, steps)
    lr_step = steps // 2 + 1 if 'lr' in hp and steps >= 4 else None
    make = (lambda start: _PureRun(fn, rule, be, start, hp)) if kind == 'rule' else \
        (lambda start: _BookRun(fn, rule, be, start, hp))
    problems: list = []
    try:
        learner = make(p0)
    except Exception as e:
        return _failed(f"Setting up your {base['fn']} failed: {_raised(e)}", **base)
    actual = _drive(learner, grads, lr_step, problems)
    expected = _drive(_RuleRun(rule, p0, hp), grads, lr_step, [])
    first, max_abs, max_rel = _compare(actual, expected)
    if problems:
        k, text = problems[0]
        return CheckResult(False, k, max_abs, max_rel, None,
                           f"{_title(base)} stopped at step {k}: {text}\n{_AFTER_STOP}", **base)
    equivalent = None
    if first is not None:
        accumulates = kind == 'book' and be.grads_on_params and be.grads_accumulate
        found = _diagnose(actual, rule, p0, hp, grads, lr_step, accumulates)
        if found is None or not found.passes:
            return _mismatch(found, first, max_abs, max_rel, rule, base, lr_step)
        equivalent = found
    # the airfoil epoch
    data = _airfoil()
    note = ''
    if data is None:
        note = ' (the airfoil data is not on this machine: seeded steps only)'
    else:
        # an equivalent form (another of the book's eps) is followed on the airfoil data too
        target = equivalent.as_rule() if equivalent is not None else rule
        a_first, a_abs, a_rel, problem = _airfoil_epoch(make, target, hp, data, seed, steps)
        max_abs, max_rel = max(max_abs, a_abs), max(max_rel, a_rel)
        if problem:
            return CheckResult(False, a_first, max_abs, max_rel, None,
                               f"{_title(base)} stopped {problem}\n{_AFTER_STOP}", **base)
        if a_first is not None:
            text = (f"{_title(base)} agrees on the {steps} seeded steps but not on the airfoil data, "
                    f"from minibatch {a_first - steps} on (largest difference {a_abs:.2g}).\n"
                    f"Look for code that depends on the data, the batch size or the step count.")
            return CheckResult(False, a_first, max_abs, max_rel, None, text, **base)
        note = f' and one airfoil epoch ({len(_batches(data, seed))} minibatches)'
    if equivalent is not None:
        return CheckResult(True, first, max_abs, max_rel, equivalent.code,
                           _message(equivalent, rule, first, max_abs, base, lr_step), **base)
    return CheckResult(True, None, max_abs, max_rel, None,
                       f"{_title(base)} matches the reference {rule.name}: {steps} seeded steps{note}.\n"
                       f"Largest difference {max_abs:.2g} (tolerance 1e-6 + 1e-4 x |value|).", **base)


def _batches(data: tuple[np.ndarray, np.ndarray], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    X, y = data
    order = np.random.default_rng(seed).permutation(len(X))
    return [(X[order[i:i + 10]], y[order[i:i + 10]]) for i in range(0, len(X), 10)]


def _airfoil_epoch(make, rule, hp, data, seed, steps):
    from .harness import linreg_gradients
    rng = np.random.default_rng(seed)
    p0 = [rng.normal(0.0, 0.01, SHAPES[0]).astype(np.float32), np.zeros(SHAPES[1], np.float32)]
    learner, reference = make(p0), _RuleRun(rule, p0, hp)
    a, r = p0, p0
    actual, expected = [], []
    for k, (X, y) in enumerate(_batches(data, seed), 1):
        try:
            a = learner.step(linreg_gradients(X, y, *a))
        except Exception as e:
            text = str(e) if isinstance(e, _FnProblem) else _raised(e)
            return steps + k, 0.0, 0.0, f"on the airfoil data, minibatch {k}: {text}"
        r = reference.step(linreg_gradients(X, y, *r))
        actual.append(a)
        expected.append(r)
    first, max_abs, max_rel = _compare(actual, expected, offset=steps)
    return first, max_abs, max_rel, None


def _diagnose(actual, rule, p0, hp, grads, lr_step, accumulates) -> Variant | None:
    """The first known mistake whose run matches ``actual`` at every step."""
    for variant in variants(rule, grads_accumulate=accumulates):
        run = _RuleRun(variant.as_rule(), p0, hp, accumulate=variant.accumulate_grads)
        for k, (g, want) in enumerate(zip(grads, actual), 1):     # stop at the first step off
            if k == lr_step and not variant.fixed_lr:
                run.hp['lr'] = run.hp['lr'] * 0.5
            if _compare([want], [run.step(g)])[0] is not None:
                break
        else:
            return variant
    return None


# ---------------------------------------------------------------- 2-D trainers

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


def _run_2d(fn, rule, steps, takes_f_grad, hyperparams, f_grad, base) -> CheckResult:
    from .harness import trainer_2d
    f_grad = f_grad or _default_f_grad
    hp = _hp_2d(fn, rule, hyperparams)
    name = base['fn']

    def learner_traj() -> tuple[list, tuple | None]:
        x1, x2, s1, s2 = X0_2D[0], X0_2D[1], 0, 0
        out = []
        for k in range(1, steps + 1):
            try:
                got = fn(x1, x2, s1, s2, f_grad) if takes_f_grad else fn(x1, x2, s1, s2)
                if not isinstance(got, (tuple, list)) or len(got) != 4:
                    raise _FnProblem(f"Your {name} returned {_describe(got)}; a 2-D trainer "
                                     f"returns (x1, x2, s1, s2).")
                x1, x2, s1, s2 = got
                try:
                    point = np.array([to_scalar(x1), to_scalar(x2)])
                except (ValueError, TypeError):
                    raise _FnProblem(f"Your {name} returned x1 = {_describe(x1)} and x2 = "
                                     f"{_describe(x2)}; each should be one number.") from None
            except _FnProblem as e:
                return out, (k, str(e))
            except Exception as e:
                return out, (k, _raised(e))
            out.append([point])
        return out, None

    def rule_traj(r: Rule) -> list:
        trainer = trainer_2d(r, f_grad, **dict(hp))
        x1, x2, s1, s2 = X0_2D[0], X0_2D[1], 0, 0
        out = []
        for _ in range(steps):
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
            out.append([np.array([float(x1), float(x2)])])
        return out

    actual, problem = learner_traj()
    try:
        expected = rule_traj(rule)
    except ValueError as e:      # hyperparameters from the globals out of range
        return _failed(f"{_title(base)}: the hyperparameters {hp} are not usable: {e}", **base)
    first, max_abs, max_rel = _compare(actual, expected)
    if problem:
        k, text = problem
        return CheckResult(False, k, max_abs, max_rel, None,
                           f"{_title(base)} stopped at step {k}: {text}\n{_AFTER_STOP}",
                           **base)
    if first is None:
        return CheckResult(True, None, max_abs, max_rel, None,
                           f"{_title(base)} matches the reference {rule.name}: {steps} steps from "
                           f"{X0_2D} with {hp}.\nLargest difference {max_abs:.2g}.", **base)
    for variant in variants(rule):
        if variant.accumulate_grads or variant.fixed_lr:     # no gradients to sum, no lr change
            continue
        if _compare(actual, rule_traj(variant.as_rule()))[0] is None:
            if variant.passes:
                return CheckResult(True, first, max_abs, max_rel, variant.code,
                                   _message(variant, rule, first, max_abs, base, None), **base)
            return _mismatch(variant, first, max_abs, max_rel, rule, base, None)
    return _mismatch(None, first, max_abs, max_rel, rule, base, None, hp=hp)


# ---------------------------------------------------------------- messages

_AFTER_STOP = "Fix that in your function (call it once by hand to see the full error), then check again."


def _title(base: dict) -> str:
    return f"Your {base['fn']}"


def _failed(text: str, **base) -> CheckResult:
    return CheckResult(False, None, math.nan, math.nan, None, text, **base)


def _mismatch(variant, first, max_abs, max_rel, rule, base, lr_step, hp=None) -> CheckResult:
    return CheckResult(False, first, max_abs, max_rel, variant.code if variant else None,
                       _message(variant, rule, first, max_abs, base, lr_step, max_rel, hp), **base)


def _eps_text(x: float) -> str:
    return '0' if x == 0 else f'{x:g}'


def _message(v: Variant | None, rule: Rule, first, max_abs, base, lr_step, max_rel=0.0, hp=None) -> str:
    who = _title(base)
    r = rule.name
    book_eps = BOOK_EPS.get(r)
    if v is None:
        extra = f" (hyperparameters used: {hp})" if hp else ''
        return (f"{who} differs from the reference {r} from step {first} on (largest difference "
                f"{max_abs:.2g}, {max_rel:.2g} relative){extra}.\n"
                f"It matches none of the known mistakes: compare your step {first} with the "
                f"section's formula, line by line.")
    code = v.code
    if code == 'eps_outside_sqrt':
        return (f"{who} adds eps outside the square root: {v.detail}"
                f"{', with eps = ' + _eps_text(v.eps) if v.eps is not None else ''}.\n"
                f"The book adds it inside, lr * g / sqrt(s + eps), with eps = {_eps_text(book_eps)} "
                f"(PyTorch's built-in puts it outside; this chapter does not).")
    if code == 'eps_inside_sqrt':
        return (f"{who} adds eps inside the square root: {v.detail}.\n"
                f"The book's {r} adds it outside: lr * v_hat / (sqrt(s_hat) + eps), eps = {_eps_text(book_eps)}.")
    if code == 'eps_value':
        if v.passes:
            return (f"{who} matches the reference {r} with eps = {_eps_text(v.eps)}, the value the book's "
                    f"TensorFlow tab uses; the paper and the other tabs use {_eps_text(book_eps)}.\n"
                    f"Passed; either constant is the book's.")
        return (f"{who} uses eps = {_eps_text(v.eps)}; the book's {r} uses eps = {_eps_text(book_eps)}.\n"
                f"Change the constant (or read hp.get('eps', {_eps_text(book_eps)})).")
    if code == 'missing_one_minus':
        factor = {'rmsprop': '(1 - gamma)', 'adadelta': '(1 - rho)'}.get(r, '(1 - beta1) / (1 - beta2)')
        return (f"{who} drops the {factor} factor of the leaky average ({v.detail}).\n"
                f"Each average mixes the old value and the new term: s = gamma * s + (1 - gamma) * g**2 "
                f"for RMSProp, with rho or beta1/beta2 for the others.")
    if code == 'no_bias_correction':
        return (f"{who} leaves out the bias correction ({v.detail}).\n"
                f"Divide v by (1 - beta1**t) and s by (1 - beta2**t) before the step, "
                f"with t = 1 at the first step.")
    if code == 'bias_correction_t0':
        return (f"{who} counts t from 0 in the bias correction, so the first step divides by "
                f"1 - beta**0 = 0 and gives NaN.\n"
                f"Count steps from 1: t is 1 at the first step (hyperparams['t'] starts at 1).")
    if code == 't_advanced_early':
        return (f"{who} advances t before using it, so the first step uses t = 2.\n"
                f"Use t in the bias correction first, then add 1 at the end of the step.")
    if code == 't_not_advanced':
        how = ("add hyperparams['t'] += 1 at the end of your function (after the loop over params)"
               if base.get('form') == 'book' else 'use the step count t you are given, not a constant')
        return (f"{who} never advances t: every step uses t = 1, so the bias correction keeps its "
                f"first-step size (the book's TensorFlow Adam has this bug).\nTo fix it, {how}.")
    if code == 'state_not_updated':
        which = v.detail
        them = 'them' if ' and ' in which else 'it'
        stays = 'they stay' if ' and ' in which else 'it stays'
        how = {'rule': f"return the new {which} in the state tuple, not the one you were given",
               '2d': f"return the new {which} as s1, s2"}.get(
            base.get('form'), "write into the state in place: s[:] = ... (s.assign(...) on "
                              "TensorFlow), not s = ..., which only rebinds the name")
        return (f"{who} computes {which} but never writes {them} back, so {stays} at 0.\n"
                f"To fix it, {how}.")
    if code == 'grad_not_zeroed':
        return (f"{who} never clears p.grad, so each step uses the sum of all gradients so far "
                f"(PyTorch's backward adds to p.grad).\n"
                f"End your step with p.grad.data.zero_() (or p.grad = None) for every parameter.")
    if code == 'wrong_sign':
        return (f"{who} steps uphill: it adds the update to the parameters instead of subtracting it.\n"
                f"Gradient descent moves against the gradient: p - lr * ..., not p + lr * ....")
    if code == 'lr_in_velocity':
        at = f" at step {lr_step}" if lr_step else ''
        return (f"{who} is equivalent to the reference {r}: your velocity holds the learning rate "
                f"(v = beta * v + lr * g; p = p - v), the book's v times lr.\n"
                f"Passed. The two differ only when lr changes (here{at}, as a scheduler would change "
                f"it): then the book's form applies the new lr at once.")
    if code == 'lr_constant':
        read = "hyperparams['lr']" if base.get('form') == 'book' else "hp['lr']"
        return (f"{who} agrees with the reference {r} until step {first}, where the learning rate it "
                f"is given halves (as a scheduler would change it), and goes on with the old one.\n"
                f"Read the learning rate from {read} at every step instead of writing the number in.")
    if code == 'yogi_as_adam':
        return (f"{who} updates s as Adam does: s = beta2 * s + (1 - beta2) * g**2.\n"
                f"Yogi moves s additively: s = s + (1 - beta2) * sign(g**2 - s) * g**2.")
    if code == 'adadelta_order':
        return (f"{who} updates Adadelta's averages in the wrong order: {v.detail}.\n"
                f"Update s with g**2, compute g_prime = sqrt(delta + eps) / sqrt(s + eps) * g with "
                f"the old delta, move p by g_prime, then update delta with g_prime**2.")
    return f"{who} matches the known mistake {code}."


# ---------------------------------------------------------------- the grader's trace

def _execution_count() -> int | None:
    """The IPython execution count of the running cell, or None outside IPython."""
    ipython = sys.modules.get('IPython')
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, 'get_ipython') else None
    count = getattr(shell, 'execution_count', None)
    return count if isinstance(count, int) else None


def record_trace(result: CheckResult) -> None:
    """Append ``result`` as one JSON line to the file ``$D2L_OPTIM_CHECK_LOG`` names, if set.

    Each line is :meth:`CheckResult.to_json` plus ``execution_count`` (the IPython
    cell that ran the check, None in a script). The file is rewritten atomically.
    """
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    from .files import atomic_write
    record = {**result.to_json(), 'execution_count': _execution_count()}
    try:
        old = Path(path).read_text() if os.path.exists(path) else ''
        with atomic_write(path) as f:
            f.write(old + json.dumps(record) + '\n')
    except OSError as e:
        warnings.warn(f"check could not write its result to ${TRACE_ENV}={path}: {e}")
