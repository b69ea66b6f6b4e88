"""What crosses between ``lab grade``'s judge and a submission's process: numbers only.

One message is one line of JSON. Values are numbers, strings, ``None``, lists,
tuples, dicts with string keys and NumPy arrays (``{"__array__": dtype, "shape":
[...], "data": base64}``). Two tokens stand for what cannot cross: ``"__xp__"``
(the array operations a pure rule gets as ``xp``; each side uses its own) and
``{"__callable__": k}`` (a function of the judge's, such as a 2-D trainer's
``f_grad``, which the submission's side calls back through the judge).

:func:`decode` is what the judge runs on what the submission sent, so it trusts
nothing: no pickle, a fixed list of dtypes, the bytes must fill the shape, and a
message is at most :data:`MAX_MESSAGE` bytes.
"""
from __future__ import annotations

import base64
import json
from typing import IO, Any, Callable

import numpy as np

from .ops import numpy_ops

#: the largest message either side reads (a line longer than this ends the exchange)
MAX_MESSAGE = 64 << 20
DTYPES = ('float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool')
XP = '__xp__'


class WireError(ValueError):
    """A message that is not one this module writes (too long, not JSON, a bad array)."""


class Opaque:
    """Something the other side could not send as numbers; ``repr`` says what it was."""

    def __init__(self, what: str):
        self.what = what[:80]

    def __repr__(self) -> str:
        return self.what


def encode(value: Any, callables: list | None = None) -> Any:
    """``value`` as JSON-ready data; a callable is appended to ``callables`` and sent as its index."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if value is numpy_ops:
        return XP
    if isinstance(value, (list, tuple)):
        items = [encode(v, callables) for v in value]
        return items if isinstance(value, list) else {'__tuple__': items}
    if isinstance(value, dict):
        return {'__dict__': [[str(k), encode(v, callables)] for k, v in value.items()]}
    array = value if isinstance(value, np.ndarray) else None
    if array is None and hasattr(value, '__array__') and not callable(value):
        try:
            array = np.asarray(value)
        except Exception:
            array = None
    if array is not None and array.dtype.name in DTYPES:
        array = np.ascontiguousarray(array)
        return {'__array__': array.dtype.name, 'shape': list(array.shape),
                'data': base64.b64encode(array.tobytes()).decode('ascii')}
    if callable(value) and callables is not None:
        callables.append(value)
        return {'__callable__': len(callables) - 1}
    what = f"an array of dtype {array.dtype}" if array is not None else \
        f"a {type(value).__name__}"
    return {'__opaque__': what}


def decode(data: Any, callback: Callable[[int], Any] | None = None) -> Any:
    """The value :func:`encode` sent; ``callback(k)`` makes the stand-in for callable ``k``."""
    if data == XP:
        return numpy_ops
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, callback) for v in data]
    if not isinstance(data, dict):
        raise WireError(f"unexpected value of type {type(data).__name__}")
    if '__tuple__' in data:
        return tuple(decode(v, callback) for v in _list(data['__tuple__']))
    if '__dict__' in data:
        return {str(k): decode(v, callback) for k, v in _list(data['__dict__'])}
    if '__array__' in data:
        dtype, shape = data['__array__'], data.get('shape')
        if dtype not in DTYPES or not isinstance(shape, list) or \
                not all(isinstance(n, int) and 0 <= n for n in shape) or len(shape) > 8:
            raise WireError(f"bad array header {dtype!r} {shape!r}")
        raw = base64.b64decode(str(data.get('data', '')), validate=True)
        if len(raw) != int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize:
            raise WireError(f"array data of {len(raw)} bytes does not fill shape {shape}")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if '__callable__' in data:
        if callback is None or not isinstance(data['__callable__'], int):
            raise WireError("a function was sent where none is expected")
        return callback(data['__callable__'])
    if '__opaque__' in data:
        return Opaque(str(data['__opaque__']))
    raise WireError(f"unexpected object with keys {sorted(data)[:5]}")


def _list(x: Any) -> list:
    if not isinstance(x, list):
        raise WireError(f"expected a list, got {type(x).__name__}")
    return x


def send(stream: IO[bytes], message: dict) -> None:
    stream.write(json.dumps(message, allow_nan=True).encode('utf-8') + b'\n')
    stream.flush()


def parse(line: bytes) -> dict:
    """One message; :class:`WireError` if it is not a JSON object or is too long."""
    if len(line) > MAX_MESSAGE:
        raise WireError(f"a message of more than {MAX_MESSAGE} bytes")
    try:
        message = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WireError(f"not JSON: {e}") from None
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message
