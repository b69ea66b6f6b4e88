"""JAX's in-place boxes and ``compile=True`` over them (used by :mod:`d2l_optim.backends.jax`).

JAX arrays are immutable, so the book's "write the parameter in place" needs a holder:
:class:`Variable`, one array in a box, written with ``assign`` as a ``tf.Variable`` is.
``compile=True`` turns a training step that reads and writes such boxes into one
``jax.jit`` function of their arrays (:func:`compile_step`).
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

#: while compile_step looks for the boxes a step touches: {box: its value before}
TAPE: list = []


class Variable:
    """A mutable box around one immutable JAX array (or an optax state): JAX's ``tf.Variable``."""

    __slots__ = ('_value',)
    __array_priority__ = 100        # numpy_array * box -> our __rmul__, not NumPy's loop

    def __init__(self, value: Any) -> None:
        self._value = unbox(value)

    @property
    def value(self) -> Any:
        if TAPE:
            TAPE[-1].setdefault(self, self._value)
        return self._value

    @value.setter
    def value(self, new: Any) -> None:
        if TAPE:
            TAPE[-1].setdefault(self, self._value)
        self._value = unbox(new)

    def assign(self, new: Any) -> 'Variable':
        """Put ``new`` in the box (the JAX way to write ``p[:] = new``)."""
        self.value = new
        return self

    def __setitem__(self, index: Any, new: Any) -> None:
        raise TypeError("JAX arrays are immutable, so p[:] = ... cannot write into p: "
                        "write p.assign(new_value), e.g. p.assign(p - hyperparams['lr'] * g) "
                        "(for a plain JAX array: x = x.at[index].set(value))")

    def numpy(self) -> np.ndarray:
        return np.asarray(self.value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.value, dtype=dtype)

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    T = property(lambda self: self.value.T)

    def __len__(self) -> int:
        return len(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        return f'Variable({self._value!r})'


def unbox(x: Any) -> Any:
    """The array inside a :class:`Variable`, anything else unchanged."""
    return x.value if isinstance(x, Variable) else x


def _delegate(name: str) -> Callable:
    def method(self, *args):
        return getattr(self.value, name)(*(unbox(a) for a in args))
    method.__name__ = name
    return method


for _name in ('add radd sub rsub mul rmul truediv rtruediv pow rpow matmul rmatmul neg pos abs '
              'lt le gt ge getitem').split():
    setattr(Variable, f'__{_name}__', _delegate(f'__{_name}__'))


def compile_step(fn: Callable) -> Callable:
    """``compile=True``: ``fn`` as one ``jax.jit`` function. The boxes ``fn`` touches are
    ``fn.boxes`` if it lists them (the harness's steps do), else found by a first shape-only
    pass (``jax.eval_shape``); the jitted function takes their arrays and returns the new
    ones, which are put back in the boxes.

    A step that also carries ``fn.program``, a key for its whole computation (the library's
    own optimizers and optax's: the rule, its hyperparameters, the shapes), reuses the
    traced and compiled program of an earlier step with the same key, as a module-level
    ``jax.jit`` does in a script: a repeated run pays no trace at all (see :data:`PROGRAMS`).
    """
    listed = list(getattr(fn, 'boxes', ()))
    if not all(isinstance(box, Variable) for box in listed):
        listed = []                     # e.g. lazily made states: found by the shape-only pass
    program = getattr(fn, 'program', None) if listed else None
    jitted: list = []

    def call(*args):
        if not jitted:
            boxes = listed
            if not boxes:
                TAPE.append({})
                try:
                    jax.eval_shape(fn, *args)
                finally:
                    touched = TAPE.pop()
                    for box, value in touched.items():
                        box._value = value
                boxes = list(touched)
            if program in PROGRAMS:
                PROGRAMS[program] = PROGRAMS.pop(program)          # most recent last
                jitted[:] = [*PROGRAMS[program], boxes]
            else:
                jitted[:] = [jax.jit(pure_step(fn, boxes)), {}, boxes]
                if program is not None:
                    PROGRAMS[program] = jitted[:2]
                    while len(PROGRAMS) > EXECUTABLES_KEPT:
                        PROGRAMS.pop(next(iter(PROGRAMS)))
        pure_jit, by_shape, boxes = jitted
        values = [box._value for box in boxes]
        shape = tuple((getattr(a, 'shape', None), getattr(a, 'dtype', type(a))) for a in args)
        if shape not in by_shape:           # once per batch shape: a short last batch once
            by_shape[shape] = executable(pure_jit.lower(values, *args))
        new, out = by_shape[shape](values, *args)
        for box, value in zip(boxes, new):
            box._value = value
        return out
    return call


def pure_step(fn: Callable, boxes: list) -> Callable:
    """``fn`` as a pure function of its boxes' arrays: (values, *args) -> (new values, out).
    It runs only while ``jax.jit`` traces, once per batch shape; a step that reuses the
    program of an earlier one (same ``fn.program``) gets that step's ``fn`` and boxes here,
    which compute the same thing."""
    def pure(values, *args):
        before = [box._value for box in boxes]
        for box, value in zip(boxes, values):
            box._value = value
        try:
            out = fn(*args)
            return [box._value for box in boxes], out
        finally:
            for box, value in zip(boxes, before):
                box._value = value
    return pure


#: traced programs by ``fn.program``: (jitted function, executables by batch shape), an LRU
PROGRAMS: dict[Any, list] = {}


#: XLA executables by the text of the program they run (an LRU of :data:`EXECUTABLES_KEPT`)
EXECUTABLES: dict[str, Any] = {}
EXECUTABLES_KEPT = 64


def executable(lowered: Any) -> Any:
    """``lowered.compile()``, reused when the same program was compiled before.

    Every ``train_ch11(..., compile=True)`` builds a new step function, so ``jax.jit``'s
    own cache (per function) cannot help a second run; XLA's compile is most of a short
    run's time (0.3-0.5 s here for 2 airfoil epochs of about 0.1 s). The same rule with
    the same hyperparameters and shapes lowers to the same text, so its executable is
    reused: the second run of a cell pays only the trace (about 0.04 s).
    """
    key = lowered.as_text()
    exe = EXECUTABLES.pop(key, None) or lowered.compile()
    EXECUTABLES[key] = exe                 # most recent last
    while len(EXECUTABLES) > EXECUTABLES_KEPT:
        EXECUTABLES.pop(next(iter(EXECUTABLES)))
    return exe
