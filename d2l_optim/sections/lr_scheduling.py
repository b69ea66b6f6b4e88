"""Section 11.11's five training runs on any backend, for ``d2l-optim reproduce --sections 11.11``.

The book trains LeNet on Fashion-MNIST for 30 epochs at batch size 256 with
SGD and five learning-rate schedules. :func:`run_section_11_11` runs them with
our schedulers (epoch ``t`` at ``scheduler(t)`` on every backend), and with
``builtin=True`` also with each framework's own scheduler. For every backend it
checks, without training, that the built-in gives the same rate as ours in
every epoch (``builtin_lr_max_diff``).

Without the real Fashion-MNIST (offline, as in CI) it says so and runs a
labelled stand-in instead: synthetic 28 x 28 images (:func:`~d2l_optim.fashion_mnist.synthetic_fashion_mnist`,
512 training and 256 test images, 10% of training labels randomised) at batch
size 64 with the same schedules. The stand-in shows what each schedule does to
the curves (the constant rate memorises the noisy labels, the square root
learns slowly, the decays settle); its numbers say nothing about Fashion-MNIST.
NumPy has no LeNet; it runs the five schedules on its MLP, labelled as such.
The figures ``reproduce`` saves are drawn by ``lr_scheduling_figures``.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..backend import load_backend
from ..data import ENV_VAR
from ..fashion_mnist import fashion_mnist_available, read_fashion_mnist, synthetic_fashion_mnist
from ..schedulers import (CosineScheduler, FactorScheduler, MultiFactorScheduler, SquareRootScheduler,
                          schedule_values)
from .lr_scheduling_figures import save_backend_figure, save_schedule_figure

BOOK_EPOCHS = 30
#: the book's printed (train loss, train acc, test acc), PyTorch tab, d2l 1.0.3, 30 epochs
BOOK_RESULTS = {
    'constant': (0.145, 0.944, 0.877),
    'square-root': (0.273, 0.900, 0.886),
    'multi-factor': (0.194, 0.927, 0.869),
    'cosine': (0.159, 0.942, 0.904),
    'cosine-warmup': (0.181, 0.934, 0.901),
}
#: the offline stand-in: synthetic images, small enough for CI
OFFLINE = {'n_train': 512, 'n_test': 256, 'batch_size': 64, 'seed': 0}


@dataclass(frozen=True)
class Experiment:
    """One of the book's runs: a name, the SGD rate before any schedule, and the schedule."""

    name: str
    lr: float
    scheduler: Any          # None for a constant rate

    def describe(self) -> str:
        if self.scheduler is None:
            return f'constant lr {self.lr:g}'
        fields = ', '.join(f'{k}={v}' for k, v in vars(self.scheduler).items())
        return f'{type(self.scheduler).__name__}({fields})'


def experiments(epochs: int = BOOK_EPOCHS) -> list[Experiment]:
    """The five runs; for ``epochs`` other than 30 the schedules are stretched to keep their shape."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 2:
        raise ValueError(f"epochs must be an integer >= 2, got {epochs!r}")
    k = epochs / BOOK_EPOCHS
    warmup = max(1, round(5 * k))
    max_update = max(warmup + 1, round(20 * k))
    steps = sorted({max(1, round(15 * k)), max(2, round(30 * k))})
    return [
        Experiment('constant', 0.3, None),
        Experiment('square-root', 0.1, SquareRootScheduler(lr=0.1)),
        Experiment('multi-factor', 0.5, MultiFactorScheduler(step=steps, factor=0.5, base_lr=0.5)),
        Experiment('cosine', 0.3, CosineScheduler(max_update=max_update, base_lr=0.3, final_lr=0.01)),
        Experiment('cosine-warmup', 0.3, CosineScheduler(max_update=max_update, base_lr=0.3, final_lr=0.01,
                                                         warmup_steps=warmup)),
    ]


def schedule_curves() -> list[tuple[str, Any, int]]:
    """The book's schedule plots as (title, scheduler, steps): factor over 50 steps, the
    others over the book's 30 epochs."""
    curves: list[tuple[str, Any, int]] = [('factor', FactorScheduler(0.9, 1e-2, 2.0), 50)]
    return curves + [(e.name, e.scheduler, BOOK_EPOCHS) for e in experiments() if e.scheduler is not None]


def lenet_adapter(backend: str) -> Any:
    """``d2l_optim.backends.<backend>_lenet``, loaded (and its errors worded) as :func:`load_backend` does."""
    return importlib.import_module(f'{load_backend(backend).__name__}_lenet')


@contextlib.contextmanager
def _torch_threads(backend: str, threads: int | None) -> Iterator[None]:
    """PyTorch on ``threads`` intra-op threads for the run, restored after. LeNet's small
    convolutions gain nothing from more threads on a small CPU, and on a busy one
    OpenMP's waiting made them 10x slower here."""
    if backend != 'torch' or threads is None:
        yield
        return
    import torch  # a framework: only on the torch backend
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def builtin_lr_diff(backend: str, experiment: Experiment, epochs: int) -> float:
    """max |built-in rate - our rate| over the epochs, read through the backend's epoch hook."""
    if experiment.scheduler is None or backend == 'numpy':
        return math.nan
    d2l = lenet_adapter(backend)
    model = d2l.CLASSIFY.classifier(d2l.CLASSIFY.net(), experiment.lr, d2l.CLASSIFY.default_device(), None)
    hook = d2l.CLASSIFY.epoch_hook(experiment.scheduler, model, True)
    ours = schedule_values(experiment.scheduler, epochs)
    with warnings.catch_warnings():     # PyTorch warns when a scheduler steps with no training between
        warnings.simplefilter('ignore', UserWarning)
        return max(abs(float(hook(t)) - lr) for t, lr in enumerate(ours))


def _load(data: str, log: Callable[[str], None]) -> tuple[str, tuple, int]:
    """(label, the four arrays, batch size) for 'auto', 'real' or 'synthetic'."""
    if data not in ('auto', 'real', 'synthetic'):
        raise ValueError(f"data must be one of: auto, real, synthetic; got {data!r}")
    if data == 'real' or (data == 'auto' and fashion_mnist_available()):
        return 'Fashion-MNIST', read_fashion_mnist(), 256
    if data == 'auto':
        log(f"11.11: Fashion-MNIST was not found (put its four *-ubyte.gz files in ${ENV_VAR}); "
            f"running the offline stand-in: synthetic images, {OFFLINE['n_train']} train / "
            f"{OFFLINE['n_test']} test, batch {OFFLINE['batch_size']}")
    label = (f"synthetic stand-in ({OFFLINE['n_train']} train / {OFFLINE['n_test']} test images, "
             "not Fashion-MNIST)")
    arrays = synthetic_fashion_mnist(OFFLINE['n_train'], OFFLINE['n_test'], seed=OFFLINE['seed'])
    return label, arrays, OFFLINE['batch_size']


def run_section_11_11(backends: Sequence[str], epochs: int | None = None, out_dir: Any = None, *,
                      builtin: bool = False, data: str = 'auto', seed: int = 0, threads: int | None = 1,
                      log: Callable[[str], None] = print) -> list[dict]:
    """The five runs on each backend; one result row (a dict) per run.

    ``epochs`` defaults to the book's 30; fewer stretch the schedules to fit.
    ``out_dir`` gets one figure per backend (rates, training loss, test accuracy per
    epoch) and the book's schedule plots. ``builtin=True`` adds a run with the
    framework's own scheduler for each schedule.
    """
    epochs = BOOK_EPOCHS if epochs is None else epochs
    runs = experiments(epochs)
    modules = {b: lenet_adapter(b) for b in backends}          # fail early on a bad or missing backend
    label, arrays, batch_size = _load(data, log)
    rows = []
    for backend, d2l in modules.items():
        model = 'MLP 784-256-10 (NumPy has no LeNet)' if backend == 'numpy' else 'LeNet (ReLU, max-pooling)'
        variants = [False, True] if builtin and backend != 'numpy' else [False]
        with _torch_threads(backend, threads):
            for exp in runs:
                diff = builtin_lr_diff(backend, exp, epochs)
                for use_builtin in variants:
                    if use_builtin and exp.scheduler is None:
                        continue
                    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, arrays=arrays, seed=seed)
                    wall = time.perf_counter()
                    run = d2l.fit_ch6(None, train_iter, test_iter, epochs, exp.lr, scheduler=exp.scheduler,
                                      builtin=use_builtin, seed=seed, name=exp.name)
                    wall = time.perf_counter() - wall
                    book = BOOK_RESULTS[exp.name] if epochs == BOOK_EPOCHS else (math.nan,) * 3
                    row = {'experiment': exp.name, 'backend': backend, 'model': model, 'data': label,
                           'epochs': epochs, 'batch_size': batch_size, 'schedule': exp.describe(),
                           'scheduler_impl': 'framework built-in' if use_builtin else 'd2l_optim.schedulers',
                           **run.final(), 'book_train_loss': book[0], 'book_train_acc': book[1],
                           'book_test_acc': book[2], 'lrs': run.lrs, 'train_loss_curve': run.train_loss,
                           'test_acc_curve': run.test_acc, 'builtin_lr_max_diff': diff,
                           'examples_per_sec': run.examples_per_sec, 'wall': wall}
                    rows.append(row)
                    log(f"11.11 {backend:10s} {exp.name:13s} {'built-in' if use_builtin else 'ours':8s} "
                        f"train loss {row['train_loss']:.3f}, train acc {row['train_acc']:.3f}, "
                        f"test acc {row['test_acc']:.3f}  ({run.examples_per_sec:.0f} examples/sec, "
                        f"{wall:.1f} s)")
        if out_dir is not None:
            save_backend_figure([r for r in rows if r['backend'] == backend],
                                Path(out_dir) / f'11.11-{backend}.png')
    if out_dir is not None:
        save_schedule_figure(schedule_curves(), Path(out_dir) / '11.11-schedules.png')
    return rows

