"""The book's ``d2l`` names for chapter 11, bound to one backend.

Each adapter ends with ``globals().update(book_api(_backend))``, so
``from d2l_optim.backends import torch as d2l`` offers what ``from d2l import
torch as d2l`` offers for this chapter, all built from the core.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import numpy as np

from . import checker, data, display, harness, plotting
from .backend import Backend
from .rules import RULES, Rule, apply_rule, get_rule

#: the book's name for each rule's optimizer function
BOOK_NAMES = {'sgd': 'sgd', 'momentum': 'sgd_momentum', 'adagrad': 'adagrad',
              'rmsprop': 'rmsprop', 'adadelta': 'adadelta', 'adam': 'adam', 'yogi': 'yogi'}


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
    optimizer.__name__ = optimizer.__qualname__ = BOOK_NAMES.get(rule.name, rule.name)
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
    init.__name__ = f'init_{BOOK_NAMES[rule.name].replace("sgd_", "")}_states'
    return init


def book_form(fn: Callable, rule: str | Rule, backend: Backend) -> Callable:
    """A learner's pure rule ``fn(p, g, state, hp, t, xp) -> (new_p, new_state)`` as the book's
    optimizer on ``backend`` (``d2l.book_form(my_rmsprop, 'rmsprop')``), applied and written in
    place exactly as ``d2l.<rule>`` applies the core rule, so ``train_ch11`` can train with it."""
    learner = dataclasses.replace(get_rule(rule), update=fn)
    return book_optimizer(learner, backend)


def bound_check(backend: Backend) -> Callable:
    """``d2l.check(fn, rule, steps=50, seed=0)``: :func:`d2l_optim.checker.check` on this backend."""
    def check(fn: Callable, rule: Any, steps: int = 50, seed: int = 0, **options: Any):
        return checker.check(fn, rule, backend, steps, seed, **options)
    check.__doc__ = checker.check.__doc__
    return check


class _LazyPyplot:
    """``d2l.plt`` without importing matplotlib until it is used."""

    def __getattr__(self, name: str) -> Any:
        return getattr(plotting.pyplot(), name)


def book_api(backend: Backend) -> dict[str, Any]:
    """Every chapter-11 name, bound to ``backend``."""
    bind = lambda f: functools.wraps(f)(functools.partial(f, backend=backend))  # noqa: E731
    xp = backend.xp
    api: dict[str, Any] = {
        'plt': _LazyPyplot(), 'set_figsize': plotting.set_figsize,
        'use_svg_display': plotting.use_svg_display, 'plot': plotting.plot,
        'Animator': plotting.Animator, 'Timer': plotting.Timer,
        'DATA_HUB': data.DATA_HUB, 'DATA_URL': data.DATA_URL, 'download': data.download,
        'linreg': lambda X, w, b: harness.linreg(X, w, b, xp),
        'squared_loss': lambda y_hat, y: harness.squared_loss(y_hat, y, xp),
        'evaluate_loss': bind(harness.evaluate_loss),
        'train_2d': harness.train_2d, 'trainer_2d': harness.trainer_2d,
        'show_trace_2d': bind(harness.show_trace_2d), 'show_trace': bind(harness.show_trace),
        'gd_1d': harness.gd_1d, 'newton': harness.newton,
        'train_ch11': bind(harness.train_ch11), 'fit_ch11': bind(harness.fit_ch11),
        'train_concise_ch11': bind(harness.train_concise_ch11),
        'fit_concise_ch11': bind(harness.fit_concise_ch11),
        'load_array': lambda arrays, batch_size, is_train=True: data.ArrayLoader(
            [backend.to_numpy(a) for a in arrays], batch_size, is_train, backend.tensor),
        'BACKEND': backend,
        'check': bound_check(backend),
        'show_rule': functools.partial(display.show_rule, backend=backend),
        'show_source': display.show_source, 'show_doc': display.show_doc,
        'book_form': functools.partial(book_form, backend=backend),
    }

    def get_data_ch11(batch_size: int = 10, n: int = 1500, path=None, seed: int | None = None):
        """The airfoil data as (data_iter, feature_dim), batches as this backend's arrays."""
        rng = np.random.default_rng(seed)
        return data.get_data_ch11(batch_size, n, backend.tensor, path, rng)
    api['get_data_ch11'] = get_data_ch11

    for rule in RULES.values():
        fn = book_optimizer(rule, backend)
        api[fn.__name__] = fn
        if rule.n_states:
            init = init_states(rule, backend)
            api[init.__name__] = init
    api.update(backend.extras)
    return api
