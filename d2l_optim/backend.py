"""What a backend adapter supplies, and how a backend is found by name.

An adapter (``d2l_optim.backends.<name>``) fills one :class:`Backend` record with
only what differs between frameworks: making arrays, reading gradients, writing
a parameter in place, and the map to the framework's own optimizers. Everything
else (rules, harnesses, plots) lives in the core and takes the record.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

import numpy as np

from .ops import to_numpy

#: backend name -> (module, the pip install line that provides it)
BACKENDS = {
    'numpy': ('d2l_optim.backends.numpy', 'pip install d2l-optim'),
    'torch': ('d2l_optim.backends.torch', 'pip install "d2l-optim[torch]"  (CPU: pip install torch==2.13.0)'),
    'tensorflow': ('d2l_optim.backends.tensorflow', 'pip install "d2l-optim[tensorflow]"'),
    'mxnet': ('d2l_optim.backends.mxnet', 'pip install "d2l-optim[mxnet]"  (Python <= 3.12, numpy < 2)'),
    'jax': ('d2l_optim.backends.jax', 'pip install "d2l-optim[jax]"  (numpy >= 2; CPU)'),
}
#: the framework package each backend imports
FRAMEWORK = {'numpy': 'numpy', 'torch': 'torch', 'tensorflow': 'tensorflow', 'mxnet': 'mxnet',
             'jax': 'jax'}
#: backends whose adapter offers ``compile=True``, and how; the error for any other backend
#: names them (docs/benchmarks.md has the measurements, and why PyTorch is not here)
COMPILERS = {
    'tensorflow': 'tf.function, train_ch11 and train_concise_ch11',
    'mxnet': 'Gluon hybridize, train_concise_ch11 only',
    'jax': 'jax.jit of the whole step, train_ch11 and train_concise_ch11',
}


class BackendUnavailable(ImportError):
    """A backend whose framework is not installed or cannot be imported here."""


@dataclass
class Backend:
    """The per-framework pieces the core harnesses call."""

    name: str
    xp: Any                                       # sqrt, sign, zeros_like, matmul, reshape, mean
    tensor: Callable[[np.ndarray], Any]           # float32 NumPy -> framework array
    parameter: Callable[[np.ndarray], Any]        # a trainable array (gradient tracked)
    state: Callable[[np.ndarray], Any]            # an array an optimizer writes in place
    assign: Callable[[Any, Any], None]            # write a value into a parameter or state
    # (loss_fn, params, analytic) -> gradients of loss_fn() w.r.t. params. Where the
    # book reads p.grad (PyTorch, MXNet) they are left there too; NumPy calls analytic().
    gradients: Callable[[Callable[[], Any], list, Callable[[], list]], list]
    # The built-in optimizer path: (trainer, hyperparams, w0, b0) -> (step(X, y), predict(X))
    concise: Callable[..., tuple[Callable, Callable]]
    no_grad: Callable[[], ContextManager] = contextlib.nullcontext
    grads_on_params: bool = False                 # book optimizers read p.grad (extras: grad, zero_grad)
    to_numpy: Callable[[Any], np.ndarray] = field(default=None)  # type: ignore[assignment]
    extras: dict = field(default_factory=dict)    # backend-only book names (load_array, ...)
    # compile=True: fn -> the same function traced once. Positional arguments are batches
    # (any first-axis length, no retracing) or Python numbers (float32 scalars). A backend
    # may compile only some steps (MXNet: the Gluon blocks listed in fn.blocks) and raises
    # ValueError for the others. A step may list the holders it reads and writes in
    # fn.boxes and carry fn.program, a hashable key for its whole computation; a backend
    # may then reuse the compiled program of an earlier step with the same key (JAX does).
    compile: Callable[[Callable], Callable] | None = None
    # Where grads_on_params: backward(loss_fn) puts d loss_fn() / d p into every p.grad the
    # framework's own way, without clearing first (d2l_optim.check drives book optimizers
    # with it); grads_accumulate says whether that adds to p.grad (PyTorch) or overwrites
    # it (MXNet's default grad_req='write').
    backward: Callable[[Callable[[], Any]], None] | None = None
    grads_accumulate: bool = False

    def __post_init__(self) -> None:
        if self.to_numpy is None:
            self.to_numpy = to_numpy


def load_backend(name: str) -> Any:
    """Import ``d2l_optim.backends.<name>``; errors name the valid choices or the install line."""
    key = str(name).lower()
    if key not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    module = BACKENDS[key][0]
    try:
        return importlib.import_module(module)
    except BackendUnavailable:
        raise
    except ImportError as e:
        why = not_installed(key)
        if why:
            raise BackendUnavailable(why) from e
        raise


def register_backend(name: str, module: str, install_line: str, framework: str) -> None:
    """Make ``load_backend(name)`` import the adapter ``module`` (one outside this package,
    say); ``framework`` is the package it imports and ``install_line`` how to get it. The
    adapters of ``backends/`` are the lines of :data:`BACKENDS` and :data:`FRAMEWORK` instead."""
    key = str(name).lower()
    if key in BACKENDS and BACKENDS[key][0] != module:
        raise ValueError(f"backend {key!r} is already {BACKENDS[key][0]}; register {module} "
                         f"under another name")
    BACKENDS[key] = (module, install_line)
    FRAMEWORK[key] = framework


def backend_record(backend: Any) -> Backend:
    """The :class:`Backend` record of a backend name (``'torch'``), a backend module
    (``d2l``) or a record; anything else is a TypeError naming the three choices."""
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        backend = load_backend(backend)
    record = getattr(backend, 'BACKEND', None)
    if not isinstance(record, Backend):
        raise TypeError(f"backend must be a backend name such as 'numpy', a backend module or its "
                        f"Backend record, got {backend!r}")
    return record


def not_installed(name: str) -> str | None:
    """Why backend ``name`` cannot load because its framework is absent (with the install
    line), or None if the framework is there; cheap: nothing is imported."""
    key = str(name).lower()
    if importlib.util.find_spec(FRAMEWORK[key]) is not None:
        return None
    return (f"backend {key!r} needs {FRAMEWORK[key]}, which is not installed; install it with: "
            f"{BACKENDS[key][1]}")


def installed_backends() -> list[str]:
    """Backends whose framework package is present (importability is checked on use)."""
    return [b for b in BACKENDS if importlib.util.find_spec(FRAMEWORK[b]) is not None]
