r"""The optimizers as small NumPy classes with ``update(params, grads)``, as NumPy-only courses write them.

Each class is a thin shell around one core rule of :mod:`d2l_optim.rules`: it
keeps a state per parameter name, calls :func:`~d2l_optim.rules.apply_rule` once
per ``update`` and writes the results into the caller's arrays, so every formula
still lives only in ``rules.py``. ::

    params = {'W': np.zeros((3, 2)), 'b': np.zeros(2)}
    opt = Adam(lr=0.001)
    opt.update(params, {'W': dW, 'b': db})     # params['W'] and params['b'] change in place

Constructor names and defaults are the courses' (``RMSprop(decay_rate=0.99)``,
``Adam(lr=0.001)``); the updates are the book's, which differ from those courses
in two places:

* Momentum and Nesterov keep :math:`\eta` outside the velocity. With a fixed
  learning rate this gives the same steps as the courses' ``v = m v - lr g``.
* AdaGrad, RMSprop and Adam use the book's :math:`\epsilon` (see each rule);
  the courses add 1e-7 outside the square root, and their Adam folds the bias
  correction into the learning rate. On the classic 2-D comparison the
  points differ by about 1e-6 (see :mod:`d2l_optim.zoo`).

State is created on first use for each key, shaped like that parameter. (The
classic slip, one ``np.zeros_like(params)`` over the whole dict, gives a 0-d
object array, not one zero array per key.) Adam's and Yogi's step count is ``hyperparams['t']``, advanced once
per ``update`` call, not once per key.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping, MutableMapping

import numpy as np

from .ops import numpy_ops
from .hyperparams import validate_hyperparams
from .rules import NESTEROV, Rule, apply_rule, get_rule

__all__ = ['Optimizer', 'SGD', 'Momentum', 'Nesterov', 'AdaGrad', 'RMSprop', 'Adam',
           'Adadelta', 'Yogi', 'OPTIMIZERS']


class Optimizer:
    """A core rule applied to a dict of NumPy arrays, with its state kept per key.

    ``hyperparams`` holds the book's names (``lr``, ``momentum``, ``gamma``,
    ``rho``, ``beta1``, ``beta2``, optionally ``eps``, and ``t`` once counting
    starts); ``state`` maps each key to the rule's state in the book's layout
    (the array for one-state rules, a tuple of two arrays for two-state rules).
    """

    rule: ClassVar[Rule]
    #: the courses' constructor name -> the book's hyperparameter name
    renames: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **hyperparams: float | None) -> None:
        for k, v in hyperparams.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, np.number))):
                raise TypeError(f'{type(self).__name__}: {k} must be a number, got {v!r}')
        book = {self.renames.get(k, k): float(v) for k, v in hyperparams.items() if v is not None}
        try:
            validate_hyperparams(book, self.rule)
        except ValueError as e:
            message = str(e)
            for course, book_name in self.renames.items():
                message = message.replace(book_name, f'{course} (the book\'s {book_name})')
            raise ValueError(f'{type(self).__name__}: {message}') from None
        self.hyperparams: dict[str, Any] = book
        self.state: dict[str, Any] = {}

    def update(self, params: MutableMapping[str, Any], grads: Mapping[str, Any]) -> None:
        """One step on every parameter; each array in ``params`` is overwritten in place."""
        keys = _check(params, grads)
        for k in keys:
            if k in self.state:
                _check_state(k, self.state[k], np.shape(params[k]))
        new_params, new_states = apply_rule(
            self.rule, [params[k] for k in keys], [np.asarray(grads[k]) for k in keys],
            [self.state.get(k) for k in keys], self.hyperparams, numpy_ops)
        for k, value, state in zip(keys, new_params, new_states):
            if isinstance(params[k], np.ndarray):
                params[k][...] = value
            else:                      # a plain number: the dict entry is replaced
                params[k] = float(value)
            if state is not None:
                self.state[k] = state

    def reset(self) -> None:
        """Forget every state and the step count, as a fresh optimizer."""
        self.state.clear()
        self.hyperparams.pop('t', None)

    def __repr__(self) -> str:
        course = {book: name for name, book in self.renames.items()}
        hp = ', '.join(f'{course.get(k, k)}={v!r}' for k, v in self.hyperparams.items() if k != 't')
        return f'{type(self).__name__}({hp})'


def _check(params: Mapping[str, Any], grads: Mapping[str, Any]) -> list:
    """The keys to update, after checking that params and grads pair up exactly."""
    if not params:
        raise ValueError('params is empty: nothing to update')
    missing = [k for k in params if k not in grads]
    extra = [k for k in grads if k not in params]
    if missing or extra:
        parts = [f'no gradient for {missing}'] if missing else []
        parts += [f'gradients for unknown key(s) {extra}'] if extra else []
        raise ValueError(f"params and grads must have the same keys: {'; '.join(parts)} "
                       f"(params has {list(params)})")
    for k in params:
        p = params[k]
        if isinstance(p, np.ndarray):
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"params[{k!r}] has dtype {p.dtype}; an in-place update needs "
                                f"a floating dtype, e.g. params[{k!r}].astype(float)")
        elif not isinstance(p, (int, float, np.floating, np.integer)):
            raise TypeError(f"params[{k!r}] is a {type(p).__name__}; expected a NumPy array or a number")
        if np.shape(grads[k]) != np.shape(p):
            raise ValueError(f"grads[{k!r}] has shape {np.shape(grads[k])}, "
                             f"but params[{k!r}] has shape {np.shape(p)}")
        g = np.asarray(grads[k])
        if np.issubdtype(g.dtype, np.number) and not np.isfinite(g).all():
            bad = ~np.isfinite(g)
            what = 'NaN' if np.isnan(g).any() else 'inf'
            raise FloatingPointError(
                f"grads[{k!r}] holds {what} ({int(bad.sum())} of {g.size} entries); nothing was "
                f"updated, since one step would make params[{k!r}] and its state {what} for good. "
                f"The loss has probably diverged: lower lr or check the gradient")
    return list(params)


def _check_state(key: str, state: Any, shape: tuple) -> None:
    arrays = state if isinstance(state, tuple) else (state,)
    if any(np.shape(a) != shape for a in arrays):
        raise ValueError(f"params[{key!r}] now has shape {shape} but its optimizer state has "
                         f"shape {np.shape(arrays[0])}; call reset() after reshaping a parameter")


class SGD(Optimizer):
    """Plain gradient descent, ``x -= lr * g``."""

    rule = get_rule('sgd')

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr=lr)


class Momentum(Optimizer):
    """Heavy-ball momentum (the book's form, the courses' steps at a fixed lr)."""

    rule = get_rule('momentum')

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr=lr, momentum=momentum)


class Nesterov(Optimizer):
    """Nesterov momentum as PyTorch's ``SGD(nesterov=True)``: gradient at x, not at a look-ahead."""

    rule = NESTEROV

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr=lr, momentum=momentum)


class AdaGrad(Optimizer):
    """Adagrad: the step shrinks with the sum of squared gradients, per coordinate."""

    rule = get_rule('adagrad')

    def __init__(self, lr: float = 0.01, eps: float | None = None) -> None:
        super().__init__(lr=lr, eps=eps)


class RMSprop(Optimizer):
    """RMSProp; the courses' ``decay_rate`` is the book's :math:`\\gamma`."""

    rule = get_rule('rmsprop')
    renames = {'decay_rate': 'gamma'}

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99, eps: float | None = None) -> None:
        super().__init__(lr=lr, decay_rate=decay_rate, eps=eps)


class Adam(Optimizer):
    """Adam with bias correction; ``t`` counts ``update`` calls from 1."""

    rule = get_rule('adam')

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float | None = None) -> None:
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps)


class Adadelta(Optimizer):
    """Adadelta: no learning rate, only the decay ``rho``."""

    rule = get_rule('adadelta')

    def __init__(self, rho: float = 0.9, eps: float | None = None) -> None:
        super().__init__(rho=rho, eps=eps)


class Yogi(Optimizer):
    """Yogi: Adam whose second moment moves additively."""

    rule = get_rule('yogi')

    def __init__(self, lr: float = 0.01, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float | None = None) -> None:
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps)


#: class name -> class, in the order the comparisons draw them
OPTIMIZERS: dict[str, type[Optimizer]] = {c.__name__: c for c in (
    SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam, Adadelta, Yogi)}
