"""d2l-optim: the Optimization Algorithms chapter of Dive into Deep Learning on
NumPy, PyTorch, TensorFlow, MXNet and JAX, every update rule written once.

The core imports no framework; pick a backend with
``from d2l_optim.backends import numpy as d2l`` (or torch, tensorflow, mxnet, jax).

The names below load their module on first use, so ``import d2l_optim`` (and the
``d2l-optim`` command, whose Ctrl-C handler must be in place before NumPy loads) is cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = '0.1.0'

#: public name -> the module that defines it
_HOMES = {
    'BackendUnavailable': 'backend', 'installed_backends': 'backend', 'load_backend': 'backend',
    'CheckResult': 'checker', 'check': 'checker',
    'DataError': 'data',
    'DivergenceError': 'harness',
    'get_language': 'i18n', 'set_language': 'i18n',
    'RULES': 'rules', 'Rule': 'rules', 'apply_rule': 'rules', 'get_rule': 'rules',
    'sweep': 'sweeps',
}
__all__ = list(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'd2l_optim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f'.{_HOMES[name]}', __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
