"""Running a learner's optimizer and the reference rule side by side, for :func:`d2l_optim.check`.

Each form of the learner's function gets a runner (:class:`PureRun` for a rule
``fn(p, g, state, hp, t, xp)``, :class:`BookRun` for the book's in-place optimizer) and
the reference gets a :class:`RuleRun`; :func:`drive` steps one through a list of gradients
and :func:`compare` finds the first step where two runs part. The gradients are
:func:`seeded` ones, then one epoch of the airfoil data (:func:`airfoil_epoch`).
A function that returns the wrong kind of thing raises :class:`FnProblem`, whose
message says what it returned and what is expected.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np

from ..backend import Backend
from ..airfoil import AIRFOIL_ROWS, airfoil_arrays, init_weights, linreg_gradients
from ..data import find_local
from ..i18n import gettext as _, ngettext
from ..ops import numpy_ops, to_numpy
from ..rules import Rule, apply_rule

#: an element agrees when |fn - reference| <= ATOL + RTOL * |reference|, after every step
RTOL, ATOL = 1e-4, 1e-6
SHAPES = ((5, 1), (1,))         # w and b of the airfoil model


class FnProblem(Exception):
    """fn returned something of the wrong kind; the message says what and what is expected."""


def seeded(seed: int, steps: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Start weights and ``steps`` gradients; each element has its own magnitude, 1e-4 to 10."""
    rng = np.random.default_rng(seed)
    p0 = [rng.normal(0.0, 1.0, s).astype(np.float32) for s in SHAPES]
    sizes = [int(np.prod(s)) for s in SHAPES]
    scales = rng.permutation(10.0 ** np.linspace(-4, 1, sum(sizes)))
    parts = np.split(scales, np.cumsum(sizes)[:-1])
    grads = [[(sc.reshape(s) * rng.normal(0.0, 1.0, s)).astype(np.float32)
              for sc, s in zip(parts, SHAPES)] for _ in range(steps)]
    return p0, grads


def airfoil_rows() -> tuple[np.ndarray, np.ndarray] | None:
    """The airfoil rows the book trains on, if a copy is on this machine (no download), else None.

    A copy that is there but corrupt or unreadable raises :class:`~d2l_optim.data.DataError`
    with ``run``'s message: a check must not quietly grade on the seeded steps only.
    """
    path = find_local('airfoil')
    return None if path is None else airfoil_arrays(AIRFOIL_ROWS, path)


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


class RuleRun:
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


class PureRun:
    """The learner's ``fn(p, g, state, hp, t, xp)`` on the backend's arrays."""

    def __init__(self, fn: Callable, rule: Rule, be: Backend, p0: Sequence[np.ndarray], hp: dict):
        self.be, self.hp = be, dict(hp)
        self.params, self.states = [_own(be.tensor, p) for p in p0], None
        name = getattr(fn, '__name__', 'fn')
        names = rule.state_names
        expect = f"({', '.join(names)},)" if len(names) == 1 else f"({', '.join(names)})"

        def update(p, g, state, hp, t, xp):
            out = fn(p, g, state, hp, t, xp)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise FnProblem(_("Your {fn} returned {what}; a rule returns "
                                  "(new_p, new_state), new_state a tuple like {expect}.").format(
                    fn=name, what=describe(out), expect=expect if names else '()'))
            new_p, new_state = out
            _same_shape(new_p, p, _("the new p your {fn} returned").format(fn=name))
            if not isinstance(new_state, (tuple, list)) or len(new_state) != rule.n_states:
                raise FnProblem(_(
                    "Your {fn} returned a state of {what}; {r} keeps "
                    "{n} state array(s): return {expect}.").format(
                    fn=name, what=describe(new_state), r=rule.name, n=rule.n_states,
                    expect=expect if names else '()'))
            for i, s in enumerate(new_state):
                _same_shape(s, p, _("state {state} returned by your {fn}").format(
                    state=names[i] if i < len(names) else i, fn=name))
            return new_p, tuple(new_state)
        self.rule = dataclasses.replace(rule, update=update)

    def step(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        gs = [_own(self.be.tensor, g) for g in grads]
        self.params, self.states = apply_rule(self.rule, self.params, gs, self.states, self.hp,
                                              self.be.xp)
        return [_copy(p) for p in self.params]


class BookRun:
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
            raise FnProblem(_("After your {fn} the params list holds "
                              "{what}; it should still hold w and b.").format(
                fn=self.name, what=describe(self.params)))
        out = []
        for p, shape, label in zip(self.params, SHAPES, ('w', 'b')):
            _same_shape(p, np.zeros(shape), _("{param} after your {fn}").format(param=label, fn=self.name))
            out.append(_copy(p))
        return out


def _same_shape(x: Any, like: Any, what: str) -> None:
    try:
        shape = tuple(to_numpy(x).shape)
    except Exception:
        raise FnProblem(_("{what} is {value}, not an array.").format(
            what=what[0].upper() + what[1:], value=describe(x))) from None
    want = tuple(getattr(like, 'shape', ()))
    if shape != want:
        raise FnProblem(_("{what} has shape {shape}; it should have "
                          "shape {want}, like the parameter.").format(
            what=what[0].upper() + what[1:], shape=shape, want=want))


def describe(x: Any) -> str:
    """``x`` as a message names what a function returned: 'a tuple of 3 values', 'an array of shape (5, 1)'."""
    if x is None:
        return 'None'
    if isinstance(x, (tuple, list)):
        return ngettext("a {kind} of {n} value", "a {kind} of {n} values", len(x)).format(
            kind=type(x).__name__, n=len(x))
    shape = getattr(x, 'shape', None)
    if shape is not None:
        return _("an array of shape {shape}").format(shape=tuple(shape))
    return _("a {kind} ({value})").format(kind=type(x).__name__, value=repr(x))[:80]


def compare(actual: Sequence[list[np.ndarray]], expected: Sequence[list[np.ndarray]],
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


def drive(runner: Any, grads: Sequence[list[np.ndarray]], lr_step: int | None,
          problems: list, states: list | None = None) -> list[list[np.ndarray]]:
    """Step ``runner`` through ``grads``; an exception or a bad return ends the run in ``problems``.
    ``states``, if given, gets the runner's :func:`state_arrays` after each step."""
    out = []
    for k, g in enumerate(grads, 1):
        if k == lr_step:
            runner.hp['lr'] = runner.hp['lr'] * 0.5
        try:
            out.append(runner.step(g))
            if states is not None:
                states.append(state_arrays(runner.states))
        except FnProblem as e:
            problems.append((k, str(e)))
            break
        except Exception as e:     # the learner's code raised: report it, not a traceback
            problems.append((k, raised(e)))
            break
    return out


def state_arrays(states: Any) -> list[np.ndarray] | None:
    """A run's states, per parameter as ``apply_rule`` and the book lay them out (None, one
    array or a tuple), as one flat list of float32 copies; None if they cannot be read."""
    out: list[np.ndarray] = []
    try:
        for s in states or ():
            out.extend(_copy(a) for a in (s if isinstance(s, (tuple, list)) else (s,)) if a is not None)
    except Exception:
        return None
    return out


def matching_states(learner: Sequence, reference: Sequence) -> list | None:
    """The learner's states after each step (:func:`state_arrays`) if they line up with the
    reference's (as many arrays of the same shapes at every step), else None: unreadable."""
    if len(learner) != len(reference):
        return None
    for a, r in zip(learner, reference):
        if a is None or r is None or [x.shape for x in a] != [x.shape for x in r]:
            return None
    return list(learner)


def raised(e: BaseException) -> str:
    """What the learner's code raised, on one line."""
    text = ' '.join(str(e).split())
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


def batches(data: tuple[np.ndarray, np.ndarray], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The airfoil rows in minibatches of 10, in the order ``seed`` draws."""
    X, y = data
    order = np.random.default_rng(seed).permutation(len(X))
    return [(X[order[i:i + 10]], y[order[i:i + 10]]) for i in range(0, len(X), 10)]


def airfoil_epoch(make: Callable[[list], Any], rule: Rule, hp: dict,
                  data: tuple[np.ndarray, np.ndarray], seed: int, steps: int
                  ) -> tuple[int | None, float, float, str | None]:
    """The learner's runner (``make(p0)``) and ``rule`` for one airfoil epoch, each on the
    gradients at its own weights: (first step apart or None, largest absolute and relative
    difference, what stopped the learner's run or None); steps count on from ``steps``."""
    p0 = list(init_weights(SHAPES[0][0], np.random.default_rng(seed)))
    learner, reference = make(p0), RuleRun(rule, p0, hp)
    a, r = p0, p0
    actual, expected = [], []
    for k, (X, y) in enumerate(batches(data, seed), 1):
        try:
            a = learner.step(linreg_gradients(X, y, *a))
        except Exception as e:
            text = str(e) if isinstance(e, FnProblem) else raised(e)
            return steps + k, 0.0, 0.0, _("on the airfoil data, minibatch {k}: {problem}").format(
                k=k, problem=text)
        r = reference.step(linreg_gradients(X, y, *r))
        actual.append(a)
        expected.append(r)
    first, max_abs, max_rel = compare(actual, expected, offset=steps)
    return first, max_abs, max_rel, None
