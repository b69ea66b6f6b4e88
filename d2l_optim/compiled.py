"""``compile=True`` of the airfoil training functions: the backend's compiler, and a step
compiled so that the book's step count ``hyperparams['t']`` still advances once per step.

:func:`compiled_step` is what ``train_ch11`` calls; the library's own optimizers
get a program key (:func:`program_key`) so that a backend may reuse one compiled program
across runs (JAX does), while a learner's own optimizer is traced anew on every call.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

from .backend import COMPILERS
from .rules import EXTRA_RULES, RULES, Rule


def compiled_step(step: Callable, trainer_fn: Callable, params: list, states: Any,
                  hyperparams: dict, backend: Any) -> Callable:
    """``train_ch11``'s ``step(X, y)`` compiled by ``backend`` (a ValueError names the
    backends that compile, where this one does not).

    The library's own optimizers compute only from the hyperparameters and the shapes, so
    their program has a key and a backend may reuse it across calls. A learner's own
    function (also one through ``d2l.book_form``) may read globals that change between
    calls: traced anew every call.
    """
    compile_fn = compiler_for(backend)
    rule = getattr(trainer_fn, 'rule', None)
    program = boxes = uses_t = None
    if rule is not None and is_library_rule(rule):
        boxes = [*params, *(s for state in states or () for s in
                            (state if isinstance(state, (tuple, list)) else (state,)))]
        uses_t = rule.uses_t
        feature_dim = int(params[0].shape[0])
        program = program_key('ch11', backend.name, trainer_fn, feature_dim, 't' in hyperparams,
                              tuple(sorted((k, v) for k, v in hyperparams.items() if k != 't')))
    return step_count_outside(compile_fn, step, hyperparams, program, boxes or (), uses_t)


def compiler_for(backend: Any) -> Callable[[Callable], Callable]:
    """The backend's ``compile``, or a ValueError naming the backends that have one."""
    if getattr(backend, 'compile', None) is None:
        offered = '; '.join(f'{name} ({how})' for name, how in COMPILERS.items())
        raise ValueError(f"compile=True is not available on the {backend.name} backend; "
                         f"it is on: {offered}")
    return backend.compile


def step_count_outside(compile_fn: Callable, step: Callable, hyperparams: dict,
                       program: Hashable | None = None, boxes: Sequence = (),
                       uses_t: bool | None = None) -> Callable:
    """``step`` compiled, with the step count ``hyperparams['t']`` kept outside the trace.

    A traced function runs its Python side effects once, at trace time, so the
    ``hyperparams['t'] += 1`` of Adam/Yogi (core or a learner's own) would freeze t.
    Here t enters the trace as an argument; whether the optimizer advanced it is seen
    while tracing (or known beforehand, ``uses_t``, for the library's own rules), and the
    Python int is advanced after each call instead. ``program`` and ``boxes`` are passed
    on to the backend's compile as ``fn.program`` and ``fn.boxes`` (see :class:`Backend`).
    """
    advances_t: list[bool] = [] if uses_t is None else [uses_t]

    def body(X, y, t):
        had_t, saved = 't' in hyperparams, hyperparams.get('t')
        hyperparams['t'] = t
        try:
            step(X, y)
            advances_t[:] = [hyperparams['t'] is not t]
        finally:
            if had_t:
                hyperparams['t'] = saved
            else:
                hyperparams.pop('t', None)

    if program is not None:
        body.program, body.boxes = program, tuple(boxes)
    compiled = compile_fn(body)

    def step_with_t(X, y):
        t = hyperparams.get('t', 1)
        compiled(X, y, t)
        if advances_t and advances_t[0]:
            hyperparams['t'] = t + 1
    return step_with_t


def is_library_rule(rule: Rule) -> bool:
    """Whether ``rule`` updates with the library's own function (not a learner's)."""
    core = RULES.get(rule.name) or EXTRA_RULES.get(rule.name)
    return core is not None and rule.update is core.update


def program_key(*parts: Any) -> Hashable | None:
    """A key for a step's whole computation, or None where a part cannot be hashed."""
    try:
        hash(parts)
    except TypeError:
        return None
    return parts
