"""d2l-optim: the Optimization Algorithms chapter of Dive into Deep Learning on
NumPy, PyTorch, TensorFlow and MXNet, every update rule written once.

The core imports no framework; pick a backend with
``from d2l_optim.backends import numpy as d2l`` (or torch, tensorflow, mxnet).
"""
from .backend import BackendUnavailable, installed_backends, load_backend
from .checker import CheckResult, check
from .data import DataError
from .harness import DivergenceError
from .rules import RULES, Rule, apply_rule, get_rule
from .sweep import sweep    # the function; its module is still importable as d2l_optim.sweep

__version__ = '0.1.0'
__all__ = ['RULES', 'Rule', 'apply_rule', 'get_rule', 'load_backend', 'installed_backends',
           'BackendUnavailable', 'DataError', 'DivergenceError', 'sweep', 'check', 'CheckResult']
