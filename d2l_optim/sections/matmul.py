"""11.5's matrix products A = B C four ways (element-wise, by column, at once, in blocks) on
each framework, timed as GFLOPS = 2 n^3 / t / 1e9."""
from __future__ import annotations

import math
import time
from types import SimpleNamespace
from typing import Callable, Iterable, Sequence

import numpy as np

from ..backend import load_backend


class MatmulKit:
    """The four ways of computing A = B C on one framework (the book's code, per framework)."""

    def __init__(self, backend: str, B: np.ndarray, C: np.ndarray) -> None:
        self.backend, self.n = backend, B.shape[0]
        self.fw = FRAMEWORK_MATMUL[backend]()
        self.B, self.C = self.fw.array(B), self.fw.array(C)
        self.A = self.fw.zeros(self.n)

    def warm_up(self) -> None:
        """One element, so first-call costs do not count against the element-wise loop."""
        self.fw.set(self.A, (0, 0), self.fw.dot(self.B[0, :], self.C[:, 0]))
        self.fw.sync(self.A)

    def element(self, rows: Iterable[int]) -> None:
        set_, dot, A, B, C = self.fw.set, self.fw.dot, self.A, self.B, self.C
        for i in rows:
            for j in range(self.n):
                set_(A, (i, j), dot(B[i, :], C[:, j]))
        self.fw.sync(A)

    def column(self) -> None:
        for j in range(self.n):
            self.fw.set(self.A, (slice(None), j), self.fw.mv(self.B, self.C[:, j]))
        self.fw.sync(self.A)

    def full(self) -> None:
        self.A = self.fw.assign_all(self.A, self.fw.mm(self.B, self.C))
        self.fw.sync(self.A)

    def block(self, width: int = 64) -> None:
        for j in range(0, self.n, width):
            self.fw.set(self.A, (slice(None), slice(j, j + width)),
                        self.fw.mm(self.B, self.C[:, j:j + width]))
        self.fw.sync(self.A)


def _numpy_matmul():
    def set_(A, idx, v):
        A[idx] = v
    return SimpleNamespace(array=lambda a: np.array(a, np.float32),
                           zeros=lambda n: np.zeros((n, n), np.float32), set=set_,
                           dot=np.dot, mv=np.dot, mm=np.matmul, sync=lambda A: None,
                           assign_all=lambda A, v: v, to_numpy=np.asarray)


def _torch_matmul():
    import torch

    def set_(A, idx, v):
        A[idx] = v
    return SimpleNamespace(array=torch.from_numpy, zeros=lambda n: torch.zeros(n, n), set=set_,
                           dot=torch.dot, mv=torch.mv, mm=torch.mm, sync=lambda A: None,
                           assign_all=lambda A, v: v, to_numpy=lambda A: A.numpy())


def _tensorflow_matmul():
    load_backend('tensorflow')     # the adapter quiets TensorFlow's start-up lines first
    import tensorflow as tf

    def set_(A, idx, v):
        A[idx].assign(v)

    def assign_all(A, v):
        A.assign(v)
        return A
    return SimpleNamespace(assign_all=assign_all, array=tf.constant, zeros=lambda n: tf.Variable(tf.zeros((n, n))),
                           set=set_, dot=lambda a, b: tf.tensordot(a, b, axes=1),
                           mv=lambda a, b: tf.tensordot(a, b, axes=1),
                           mm=lambda a, b: tf.tensordot(a, b, axes=1),
                           sync=lambda A: None, to_numpy=lambda A: np.asarray(A))


def _mxnet_matmul():
    load_backend('mxnet')          # the adapter's compatibility shims and npx.set_np()
    from mxnet import np as mnp

    def set_(A, idx, v):
        A[idx] = v
    return SimpleNamespace(array=lambda a: mnp.array(a, dtype='float32'),
                           zeros=lambda n: mnp.zeros((n, n), dtype='float32'), set=set_,
                           dot=mnp.dot, mv=mnp.dot, mm=mnp.dot, sync=lambda A: A.wait_to_read(),
                           assign_all=lambda A, v: v, to_numpy=lambda A: A.asnumpy())


def _jax_matmul():
    d2l = load_backend('jax')      # immutable arrays: A is the adapter's Variable box
    import jax.numpy as jnp

    def set_(A, idx, v):
        A.assign(A.value.at[idx].set(v))

    def assign_all(A, v):
        A.assign(v)
        return A
    return SimpleNamespace(array=lambda a: jnp.asarray(a, dtype=jnp.float32),
                           zeros=lambda n: d2l.Variable(jnp.zeros((n, n), jnp.float32)), set=set_,
                           dot=jnp.dot, mv=jnp.dot, mm=jnp.matmul,
                           sync=lambda A: A.value.block_until_ready(), assign_all=assign_all,
                           to_numpy=lambda A: np.asarray(A))


FRAMEWORK_MATMUL = {'numpy': _numpy_matmul, 'torch': _torch_matmul,
                     'tensorflow': _tensorflow_matmul, 'mxnet': _mxnet_matmul, 'jax': _jax_matmul}


def best_time(fn: Callable[[], None], budget: float = 0.15, max_repeats: int = 20) -> float:
    """The fastest of several runs of fn (after one warm-up), within about ``budget`` seconds."""
    fn()
    best, spent, k = math.inf, 0.0, 0
    while k < max_repeats and (k < 2 or spent < budget):
        start = time.perf_counter()
        fn()
        t = time.perf_counter() - start
        best, spent, k = min(best, t), spent + t, k + 1
    return best


def peak_gflops(backend: str, sizes: Sequence[int] = (256, 512, 1024), seed: int = 0) -> float:
    """This machine's matrix-product speed on ``backend``: the best GFLOPS of n x n float32
    products over ``sizes``, each the fastest of several runs (a busy machine slows big ones)."""
    rng = np.random.default_rng(seed)
    best = 0.0
    for n in sizes:
        B = rng.standard_normal((n, n), dtype=np.float32)
        kit = MatmulKit(backend, B, B)
        best = max(best, 2 * n ** 3 / best_time(kit.full, budget=0.2, max_repeats=10) / 1e9)
    return best


def matmul_gflops(backend: str, n: int = 256, block: int = 64, element_budget: float = 0.25,
                  seed: int = 0) -> dict[str, float]:
    """11.5's A = B C four ways, as GFLOPS = 2 n^3 / t / 1e9 (a multiply and an add per term).

    The element-wise loop does n^2 framework calls; only as many rows as fit in
    ``element_budget`` seconds are timed and the time is scaled up to all n rows
    (``element_rows`` says how many). The others take the best of several runs.
    The four results are checked against NumPy's product.
    """
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n), dtype=np.float32)
    C = rng.standard_normal((n, n), dtype=np.float32)
    kit = MatmulKit(backend, B, C)
    flops = 2 * n ** 3
    kit.warm_up()
    rows, start = 0, time.perf_counter()
    while rows < n and time.perf_counter() - start < element_budget:
        kit.element([rows])
        rows += 1
    t_element = (time.perf_counter() - start) * n / rows
    expected = B @ C
    errors = [np.abs(kit.fw.to_numpy(kit.A)[:rows] - expected[:rows]).max()]
    out = {'element': flops / t_element / 1e9}
    for name, fn in (('column', kit.column), ('full', kit.full),
                     ('block', lambda: kit.block(block))):
        out[name] = flops / best_time(fn) / 1e9
        errors.append(np.abs(kit.fw.to_numpy(kit.A) - expected).max())
    out['element_rows'] = rows
    out['max_error'] = float(max(errors))
    return out
