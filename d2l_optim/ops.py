"""Array namespaces the rules run on, and framework-free conversions.

A namespace needs ``sqrt``, ``sign`` and ``zeros_like``; the harnesses also use
``matmul``, ``reshape`` and ``mean``. Backends supply their own; this module holds
the two that need no framework: Python floats (the 2-D experiments) and NumPy.
"""
from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

scalar_ops = SimpleNamespace(
    sqrt=math.sqrt,
    sign=lambda x: float((x > 0) - (x < 0)),
    zeros_like=lambda x: 0.0,
)

numpy_ops = SimpleNamespace(
    sqrt=np.sqrt,
    sign=np.sign,
    zeros_like=np.zeros_like,
    matmul=np.matmul,
    reshape=np.reshape,
    mean=np.mean,
)


def to_numpy(x: Any) -> np.ndarray:
    """Any backend's tensor (or a float, or a list of either) as a NumPy array."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, 'asnumpy'):         # MXNet (checked first: its arrays also have .detach)
        return x.asnumpy()
    if hasattr(x, 'detach'):          # PyTorch
        return x.detach().cpu().numpy()
    if hasattr(x, 'numpy'):           # TensorFlow (EagerTensor and Variable)
        return x.numpy()
    if isinstance(x, (list, tuple)) and any(_is_tensor(e) for e in x):
        # Ragged mixes of floats and shape-(1,) tensors, as the book's 11.4 SGD makes.
        return np.array([to_scalar(e) for e in x])
    return np.asarray(x)


def to_scalar(x: Any) -> float:
    """A Python float from a float, a 0-d or a one-element tensor of any backend."""
    if isinstance(x, (int, float)):
        return float(x)
    a = to_numpy(x)
    if a.size != 1:
        raise ValueError(f"expected a single value, got shape {a.shape}")
    return float(a.reshape(()))


def _is_tensor(x: Any) -> bool:
    return not isinstance(x, (int, float, np.generic)) and hasattr(x, 'shape')
