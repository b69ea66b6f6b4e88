"""Image classification training (the book's ``train_ch6``), written once for every backend.

A framework module supplies a :class:`ClassifyBackend`: how to wrap a network
and a learning rate into a :class:`Classifier` (one minibatch forward, backward
and update; predictions; reading and setting the learning rate), how to express
one of our schedules with its own built-in scheduler, and how to drive its own
stateful scheduler objects. Everything else lives here: :func:`accuracy`,
:class:`Accumulator`, :func:`evaluate_accuracy`, :func:`fit_classifier` (the one
epoch loop), the choice of per-epoch hook (:meth:`ClassifyBackend.epoch_hook`)
and the backend's ``fit_ch6``/``train_ch6`` (:func:`book_functions`).

The schedule hook: before epoch ``t`` (0, 1, ..., ``num_epochs - 1``) the loop
calls ``scheduler(t)`` and trains that whole epoch at the rate it returns. Our
schedulers (:mod:`d2l_optim.schedulers`) and the frameworks' built-ins, wrapped
by their backend, all take that same ``t``, so epoch ``t`` runs at the value the
book's plot shows at ``t`` on every backend.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

import numpy as np

from .harness import DivergenceError
from .ops import to_numpy, to_scalar
from .plotting import Animator, Timer

__all__ = ['accuracy', 'Accumulator', 'evaluate_accuracy', 'Classifier', 'ClassifyBackend',
           'ClassifyRun', 'fit_classifier', 'fit_ch6', 'train_ch6', 'EpochHook', 'stateful_hook',
           'WeightRNG', 'book_functions', 'no_builtin']


def accuracy(y_hat: Any, y: Any) -> float:
    """The number of correct predictions (a float, as the book's): argmax of each row of ``y_hat``."""
    y_hat, y = to_numpy(y_hat), to_numpy(y)
    if y_hat.ndim > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    return float((y_hat.astype(y.dtype).reshape(y.shape) == y).sum())


class Accumulator:
    """Running sums over ``n`` variables."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args: float) -> None:
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def evaluate_accuracy(predict: Callable[[Any], Any], data_iter: Iterable) -> float:
    """The fraction of examples in ``data_iter`` whose class ``predict`` gets right."""
    metric = Accumulator(2)
    for X, y in data_iter:
        metric.add(accuracy(predict(X), y), _size(y))
    return metric[0] / metric[1]


def _size(y: Any) -> int:
    return int(y.shape[0]) if hasattr(y, 'shape') else len(y)


class Classifier(Protocol):
    """One network with its optimizer, as a backend wraps it."""

    device: Any

    def train_step(self, X: Any, y: Any) -> tuple[Any, Any]:
        """One minibatch: forward, mean cross-entropy, backward, update. Returns (mean loss, logits)."""

    def predict(self, X: Any) -> Any:
        """Logits in inference mode, no gradients."""

    def get_lr(self) -> float: ...

    def set_lr(self, lr: float) -> None: ...


#: called with the 0-based epoch about to run; returns that epoch's learning rate
EpochHook = Callable[[int], float]


@dataclass
class ClassifyBackend:
    """What a framework supplies to :func:`fit_ch6`; see each ``backends/*_lenet.py``."""

    name: str
    # (net, lr, device, trainer) -> Classifier; trainer is an optimizer the learner built, or None
    classifier: Callable[..., Classifier]
    default_device: Callable[[], Any]
    # (one of our schedulers, classifier) -> the framework's built-in doing the same (or an error)
    builtin: Callable[[Any, Classifier], Any]
    seed: Callable[[int], None] = lambda seed: None
    net: Callable[[], Any] | None = None           # the default network (LeNet)
    # (scheduler, classifier) -> t -> lr for one of the framework's stateful scheduler objects
    # (called once per epoch in order), None for anything else
    stateful: Callable[[Any, Classifier], Callable[[int], float] | None] = lambda scheduler, model: None
    schedulers: str = ''                           # what else scheduler= takes, for the error message

    def epoch_hook(self, scheduler: Any, model: Classifier, builtin: bool) -> EpochHook | None:
        """The per-epoch hook of :func:`fit_classifier`: None for a constant rate, a framework
        object driven once per epoch, with ``builtin=True`` one of ours re-expressed as the
        framework's built-in, any other callable ``t -> lr`` as is."""
        if scheduler is None:
            return None
        if builtin:
            scheduler = self.builtin(scheduler, model)
        at_epoch = self.stateful(scheduler, model)
        if at_epoch is not None:
            return stateful_hook(at_epoch, type(scheduler).__name__)
        if callable(scheduler):
            return scheduler
        raise ValueError(f"scheduler must be a callable t -> lr{self.schedulers}, got {scheduler!r}")


def book_functions(backend: ClassifyBackend) -> tuple[Callable[..., ClassifyRun], Callable[..., None]]:
    """The backend's ``fit_ch6`` and ``train_ch6``: ours with ``backend`` bound."""
    return tuple(functools.wraps(f)(functools.partial(f, backend=backend)) for f in (fit_ch6, train_ch6))


def no_builtin(scheduler: Any) -> ValueError:
    """The error of a ``builtin_scheduler`` given a scheduler it has no built-in for."""
    return ValueError(f"no built-in for {type(scheduler).__name__}; builtin=True takes one of: "
                      f"SquareRootScheduler, FactorScheduler, MultiFactorScheduler, CosineScheduler")


class WeightRNG:
    """The NumPy generator a backend without a seed of its own draws initial weights from;
    ``fit_ch6(seed=...)`` restarts it (pass :meth:`seed` as :attr:`ClassifyBackend.seed`)."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng()

    def seed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)


@dataclass
class ClassifyRun:
    """One training run: per-epoch learning rate, loss and accuracies, and speed."""

    backend: str
    name: str
    epochs: int
    lrs: list = field(default_factory=list)          # the rate each epoch trained at
    train_loss: list = field(default_factory=list)   # mean over the epoch's examples
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    examples_per_sec: float = math.nan               # training only, no evaluation
    wall_s: float = math.nan
    device: str = ''
    animator: Animator | None = None

    def final(self) -> dict:
        return {'train_loss': self.train_loss[-1], 'train_acc': self.train_acc[-1],
                'test_acc': self.test_acc[-1]}

    def to_json(self) -> dict:
        """Plain data: the final values under the book's names, the per-epoch ones as ``*_curve``."""
        return {'backend': self.backend, 'name': self.name, 'epochs': self.epochs, 'lrs': self.lrs,
                'train_loss_curve': self.train_loss, 'train_acc_curve': self.train_acc,
                'test_acc_curve': self.test_acc, **self.final(),
                'examples_per_sec': self.examples_per_sec, 'wall_s': self.wall_s}


def fit_classifier(model: Classifier, train_iter: Iterable, test_iter: Iterable, num_epochs: int,
                   scheduler: EpochHook | None = None, *, backend: str = '', name: str = '') -> ClassifyRun:
    """The one epoch loop: set the epoch's rate, train on every minibatch, evaluate on the test set."""
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f"num_epochs must be an integer >= 1, got {num_epochs!r}")
    wall = time.perf_counter()
    run = ClassifyRun(backend, name, num_epochs, device=str(model.device))
    animator = Animator(xlabel='epoch', xlim=[0, num_epochs],
                        legend=['train loss', 'train acc', 'test acc'])
    timer, num_batches, seen = Timer(), len(train_iter), 0
    for epoch in range(num_epochs):
        if scheduler is not None:
            model.set_lr(_checked_lr(scheduler(epoch), epoch))
        run.lrs.append(model.get_lr())
        metric = Accumulator(3)          # summed loss, correct predictions, examples
        timer.start()
        for i, (X, y) in enumerate(train_iter):
            loss, y_hat = model.train_step(X, y)
            n = _size(y)
            metric.add(to_scalar(loss) * n, accuracy(y_hat, y), n)
            if (i + 1) % max(num_batches // 5, 1) == 0 or i == num_batches - 1:
                timer.stop()
                animator.add(epoch + (i + 1) / num_batches, (metric[0] / metric[2], metric[1] / metric[2], None))
                timer.start()
        timer.stop()
        seen += metric[2]
        if not math.isfinite(metric[0]):
            raise DivergenceError(f"the training loss became {metric[0] / metric[2]} in epoch {epoch + 1} "
                                  f"at learning rate {run.lrs[-1]:g}; try a smaller learning rate")
        test_acc = evaluate_accuracy(model.predict, test_iter)
        animator.add(epoch + 1, (None, None, test_acc))
        run.train_loss.append(metric[0] / metric[2])
        run.train_acc.append(metric[1] / metric[2])
        run.test_acc.append(test_acc)
    animator.finish()
    run.animator, run.examples_per_sec = animator, seen / timer.sum()
    run.wall_s = time.perf_counter() - wall
    return run


def stateful_hook(at_epoch: Callable[[int], float], what: str) -> EpochHook:
    """An :data:`EpochHook` over a framework's stateful scheduler, refusing calls out of order:
    such a scheduler only knows epoch ``t`` after being advanced through ``0 .. t-1``."""
    expected = [0]

    def hook(t: int) -> float:
        if t != expected[0]:
            raise ValueError(f"{what} keeps state, so it must be called once per epoch in order "
                             f"from t = 0; got t = {t}, expected {expected[0]}")
        expected[0] += 1
        return at_epoch(t)
    return hook


def _checked_lr(lr: Any, epoch: int) -> float:
    value = to_scalar(lr)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"the scheduler gave learning rate {lr!r} for epoch {epoch}; it must be a finite number >= 0")
    return value


def fit_ch6(net: Any, train_iter: Iterable, test_iter: Iterable, num_epochs: int, lr: float,
            device: Any = None, scheduler: Any = None, *, backend: ClassifyBackend,
            builtin: bool = False, trainer: Any = None, seed: int | None = None, name: str = '') -> ClassifyRun:
    """Train ``net`` with minibatch SGD at ``lr`` (or with ``trainer``, an optimizer the learner
    built, at its own rate), scheduled per epoch. ``net=None`` trains the backend's default
    network (LeNet; NumPy's MLP); the network's weights are re-initialized either way.

    ``scheduler`` is a callable ``t -> lr`` (ours, or a learner's own class), or the
    framework's own scheduler object (``torch.optim.lr_scheduler.*`` bound to
    ``trainer``, a Keras ``LearningRateScheduler`` callback, an ``mxnet.lr_scheduler``);
    ``builtin=True`` re-expresses one of ours with the framework's built-in.
    """
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if seed is not None:
        backend.seed(seed)
    if net is None:
        net = backend.net()
    model = backend.classifier(net, float(lr), device if device is not None else backend.default_device(),
                               trainer)
    hook = backend.epoch_hook(scheduler, model, builtin)
    return fit_classifier(model, train_iter, test_iter, num_epochs, hook, backend=backend.name,
                          name=name or _describe(scheduler, lr))


def _describe(scheduler: Any, lr: float) -> str:
    return f'constant lr {lr:g}' if scheduler is None else type(scheduler).__name__


def train_ch6(net: Any, train_iter: Iterable, test_iter: Iterable, num_epochs: int, lr: float,
              device: Any = None, scheduler: Any = None, *, backend: ClassifyBackend,
              builtin: bool = False, trainer: Any = None, seed: int | None = None) -> None:
    """The book's ``train_ch6`` with an optional per-epoch ``scheduler``: prints the book's two lines."""
    run = fit_ch6(net, train_iter, test_iter, num_epochs, lr, device, scheduler, backend=backend,
                  builtin=builtin, trainer=trainer, seed=seed)
    r = run.final()
    print(f"loss {r['train_loss']:.3f}, train acc {r['train_acc']:.3f}, test acc {r['test_acc']:.3f}")
    print(f'{run.examples_per_sec:.1f} examples/sec on {run.device}')
