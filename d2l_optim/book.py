"""The adapter contract's book forms: a core rule as the book's optimizer function.

:func:`book_optimizer` applies a rule of :mod:`d2l_optim.rules` to every parameter and
writes parameters and states in place the backend's way; :func:`init_states` is the
book's ``init_<rule>_states``; :func:`book_form` wraps a learner's own rule. The names
an adapter offers, bound to its backend, are gathered by :mod:`d2l_optim.book_api`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from .backend import Backend
from .rules import Rule, apply_rule, get_rule

def book_optimizer(rule: Rule, backend: Backend) -> Callable:
    """The rule as the book's function: ``f(params, states, hyperparams)`` reading
    ``p.grad`` (PyTorch, MXNet) or ``f(params, grads, states, hyperparams)``
    (TensorFlow, NumPy). Parameters and states are written in place."""
    xp, assign, no_grad = backend.xp, backend.assign, backend.no_grad

    def update(params, grads, states, hyperparams):
        with no_grad():
            new_params, new_states = apply_rule(rule, params, grads, states, hyperparams, xp)
            for p, value in zip(params, new_params):
                assign(p, value)
            for old, new in zip(states or (), new_states):
                for o, v in (zip(old, new) if isinstance(old, tuple) else [(old, new)]):
                    assign(o, v)

    if backend.grads_on_params:
        grad, zero_grad = backend.extras['grad'], backend.extras.get('zero_grad')

        def optimizer(params, states, hyperparams):
            update(params, [grad(p) for p in params], states, hyperparams)
            if zero_grad:
                for p in params:
                    zero_grad(p)
    else:
        optimizer = update
    optimizer.__name__ = optimizer.__qualname__ = rule.book_name
    optimizer.__doc__ = rule.update.__doc__
    optimizer.rule = rule
    return optimizer


def init_states(rule: Rule, backend: Backend) -> Callable[[int], Any]:
    """The book's ``init_<rule>_states(feature_dim)``: zeros for w (feature_dim, 1) and b (1,)."""
    def init(feature_dim: int):
        shapes = [(feature_dim, 1), (1,)]
        per_param = [tuple(backend.state(np.zeros(s, np.float32)) for _ in range(rule.n_states))
                     for s in shapes]
        return [s[0] for s in per_param] if rule.n_states == 1 else per_param
    init.__name__ = init.__qualname__ = rule.init_name
    return init


def book_form(fn: Callable, rule: str | Rule, backend: Backend) -> Callable:
    """A learner's pure rule ``fn(p, g, state, hp, t, xp) -> (new_p, new_state)`` as the book's
    optimizer on ``backend`` (``d2l.book_form(my_rmsprop, 'rmsprop')``), applied and written in
    place exactly as ``d2l.<rule>`` applies the core rule, so ``train_ch11`` can train with it."""
    learner = dataclasses.replace(get_rule(rule), update=fn)
    return book_optimizer(learner, backend)

