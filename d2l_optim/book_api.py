"""The book's ``d2l`` names for chapter 11, bound to one backend.

Each adapter ends with ``globals().update(book_api(_backend))``, so
``from d2l_optim.backends import torch as d2l`` offers what ``from d2l import
torch as d2l`` offers for this chapter, all built from the core. This module sits
above everything it binds (the harnesses, ``check``, ``show_rule``) and below the
adapters; :mod:`d2l_optim.book` is the adapter contract those pieces build on.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from . import airfoil, checker, data, display, harness, i18n, plotting, trajectories
from .backend import Backend
from .book import book_form, book_optimizer, init_states
from .rules import RULES


def bound_check(backend: Backend) -> Callable:
    """``d2l.check(fn, rule, steps=50, seed=0)``: :func:`d2l_optim.checker.check` on this backend."""
    def check(fn: Callable, rule: Any, steps: int = 50, seed: int = 0, **options: Any):
        return checker.check(fn, rule, backend, steps, seed, **options)
    check.__doc__ = checker.check.__doc__
    return check


class LazyPyplot:
    """``d2l.plt`` without importing matplotlib until it is used."""

    def __getattr__(self, name: str) -> Any:
        return getattr(plotting.pyplot(), name)


def book_api(backend: Backend) -> dict[str, Any]:
    """Every chapter-11 name, bound to ``backend``."""
    bind = lambda f: functools.wraps(f)(functools.partial(f, backend=backend))  # noqa: E731
    xp = backend.xp
    api: dict[str, Any] = {
        'plt': LazyPyplot(), 'set_figsize': plotting.set_figsize,
        'use_svg_display': plotting.use_svg_display, 'plot': plotting.plot,
        'Animator': plotting.Animator, 'Timer': plotting.Timer,
        'DATA_HUB': data.DATA_HUB, 'DATA_URL': data.DATA_URL, 'download': data.download,
        'linreg': lambda X, w, b: airfoil.linreg(X, w, b, xp),
        'squared_loss': lambda y_hat, y: airfoil.squared_loss(y_hat, y, xp),
        'evaluate_loss': bind(harness.evaluate_loss),
        'train_2d': trajectories.train_2d, 'trainer_2d': trajectories.trainer_2d,
        'show_trace_2d': bind(trajectories.show_trace_2d), 'show_trace': bind(trajectories.show_trace),
        'gd_1d': trajectories.gd_1d, 'newton': trajectories.newton,
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
        'set_language': i18n.set_language,
    }

    def get_data_ch11(batch_size: int = 10, n: int = 1500, path=None, seed: int | None = None):
        """The airfoil data as (data_iter, feature_dim), batches as this backend's arrays."""
        rng = np.random.default_rng(seed)
        return airfoil.get_data_ch11(batch_size, n, backend.tensor, path, rng)
    api['get_data_ch11'] = get_data_ch11

    for rule in RULES.values():
        fn = book_optimizer(rule, backend)
        api[fn.__name__] = fn
        if rule.n_states:
            init = init_states(rule, backend)
            api[init.__name__] = init
    api.update(backend.extras)
    return api
