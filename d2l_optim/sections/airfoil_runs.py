"""The airfoil runs of 11.5-11.10 shared by ``reproduce`` and the notebooks: the scratch run
of a rule through ``fit_ch11``, the concise run with each framework's own optimizer
(:data:`CONCISE`, resolved lazily), their registration, and the one-seed overlay of
backends.
"""
from __future__ import annotations

import contextlib
import importlib
import os
from typing import Any, Callable, Sequence

import numpy as np

from .. import plotting
from ..backend import load_backend
from ..book import BOOK_NAMES
from ..harness import Run
from ..plotting import plot
from ..rules import get_rule
from .registry import BACKENDS_ENV, Result, available_backends, experiment, new_figure


def book_line(run: Run) -> str:
    """The line the book's ``train_ch11`` prints."""
    return f'loss: {run.final_loss:.3f}, {run.sec_per_epoch:.3f} sec/epoch'


def train_scratch(d2l: Any, rule: str, hyperparams: dict | None = None, batch_size: int = 10,
                  num_epochs: int = 2, seed: int | None = None, verbose: bool = True) -> Run:
    """The book's scratch run of ``rule`` (``d2l.rmsprop`` and ``d2l.init_rmsprop_states``)
    through ``d2l.fit_ch11``; hyperparameters default to the book's."""
    rule_ = get_rule(rule)
    hp = {**rule_.defaults, **(hyperparams or {})}
    data_iter, feature_dim = d2l.get_data_ch11(batch_size)
    name = BOOK_NAMES[rule_.name]
    states = getattr(d2l, f'init_{name.replace("sgd_", "")}_states')(feature_dim) if rule_.n_states else None
    run_ = d2l.fit_ch11(getattr(d2l, name), states, hp, data_iter, feature_dim, num_epochs, seed=seed)
    if verbose:
        print(book_line(run_))
    return run_


#: The concise runs of the chapter: experiment -> backend -> (trainer, hyperparams).
#: Trainers are a core rule name (NumPy), a dotted class path resolved on use (PyTorch,
#: TensorFlow), or a Gluon optimizer name (MXNet). Our concise loss is 1/2 (y_hat - y)^2 on
#: every backend, as MXNet's L2Loss; the book's PyTorch and TensorFlow tabs use the mean
#: squared error, whose gradient is twice as large, so their plain-SGD learning rates are
#: doubled here to take the book's steps (the adaptive rules do not see the factor 2).
#: See docs/book-bugs.md.
CONCISE: dict[str, dict[str, tuple[str, dict]]] = {
    'sgd': {
        'numpy': ('sgd', {'lr': 0.05}),
        'torch': ('torch.optim.SGD', {'lr': 0.02}),                     # book: 0.01 on MSE
        'tensorflow': ('tensorflow.keras.optimizers.SGD', {'learning_rate': 0.1}),   # book: 0.05 on MSE
        'mxnet': ('sgd', {'learning_rate': 0.05}),
        'jax': ('sgd', {'lr': 0.05}),           # JAX: an optax name, the book's hyperparameter names
    },
    'momentum': {
        'numpy': ('momentum', {'lr': 0.005, 'momentum': 0.9}),
        'torch': ('torch.optim.SGD', {'lr': 0.01, 'momentum': 0.9}),   # book: 0.005 on MSE
        'tensorflow': ('tensorflow.keras.optimizers.SGD',
                       {'learning_rate': 0.01, 'momentum': 0.9}),        # book: 0.005 on MSE
        'mxnet': ('sgd', {'learning_rate': 0.005, 'momentum': 0.9}),
        'jax': ('sgd', {'lr': 0.005, 'momentum': 0.9}),
    },
    'adagrad': {
        'numpy': ('adagrad', {'lr': 0.1}),
        'torch': ('torch.optim.Adagrad', {'lr': 0.1}),
        'tensorflow': ('tensorflow.keras.optimizers.Adagrad', {'learning_rate': 0.1}),
        'mxnet': ('adagrad', {'learning_rate': 0.1}),
        'jax': ('adagrad', {'lr': 0.1}),
    },
    'rmsprop': {
        'numpy': ('rmsprop', {'lr': 0.01, 'gamma': 0.9}),
        'torch': ('torch.optim.RMSprop', {'lr': 0.01, 'alpha': 0.9}),
        'tensorflow': ('tensorflow.keras.optimizers.RMSprop', {'learning_rate': 0.01, 'rho': 0.9}),
        'mxnet': ('rmsprop', {'learning_rate': 0.01, 'gamma1': 0.9}),
        'jax': ('rmsprop', {'lr': 0.01, 'gamma': 0.9}),
    },
    'adadelta': {
        'numpy': ('adadelta', {'rho': 0.9}),
        'torch': ('torch.optim.Adadelta', {'rho': 0.9}),
        'tensorflow': ('tensorflow.keras.optimizers.Adadelta', {'learning_rate': 5.0, 'rho': 0.9}),
        'mxnet': ('adadelta', {'rho': 0.9}),
        'jax': ('adadelta', {'rho': 0.9}),        # the adapter adds optax's learning_rate 1.0
    },
    'adam': {
        'numpy': ('adam', {'lr': 0.01}),
        'torch': ('torch.optim.Adam', {'lr': 0.01}),
        'tensorflow': ('tensorflow.keras.optimizers.Adam', {'learning_rate': 0.01}),
        'mxnet': ('adam', {'learning_rate': 0.01}),
        'jax': ('adam', {'lr': 0.01}),
    },
}

_DOTTED = ('torch', 'tensorflow')     # backends whose trainer is a class named by a dotted path


def concise_trainer(rule: str, backend: str) -> tuple[Any, dict]:
    """``(trainer, hyperparams)`` of the chapter's concise run of ``rule`` on ``backend``,
    the trainer imported only now (``torch.optim.SGD``, ``tf.keras.optimizers.RMSprop``, ...)."""
    if rule not in CONCISE:
        raise ValueError(f"no concise run for {rule!r}; choose one of: {', '.join(CONCISE)}")
    if backend not in CONCISE[rule]:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(CONCISE[rule])}")
    trainer, hp = CONCISE[rule][backend]
    if backend in _DOTTED:
        trainer = resolve_dotted(trainer)
    return trainer, dict(hp)


def resolve_dotted(dotted: str) -> Any:
    """Import ``a.b.C`` attribute by attribute (``tensorflow.keras`` is a lazy attribute)."""
    head, *rest = dotted.split('.')
    obj = importlib.import_module(head)
    for i, part in enumerate(rest):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module('.'.join([head, *rest[:i + 1]]))
    return obj


def trainer_label(rule: str, backend: str) -> str:
    """The concise trainer and hyperparameters as text, e.g. ``torch.optim.SGD {'lr': 0.02}``."""
    trainer, hp = CONCISE[rule][backend]
    return f'{trainer} {hp}'


def train_concise(d2l: Any, rule: str, batch_size: int = 10, num_epochs: int = 2,
                  seed: int | None = None, verbose: bool = True) -> Run:
    """The chapter's concise run of ``rule`` with this backend's own optimizer (:data:`CONCISE`)."""
    trainer, hp = concise_trainer(rule, d2l.BACKEND.name)
    data_iter, _ = d2l.get_data_ch11(batch_size)
    run_ = d2l.fit_concise_ch11(trainer, hp, data_iter, num_epochs, seed=seed)
    run_.optimizer = trainer_label(rule, d2l.BACKEND.name)
    if verbose:
        print(book_line(run_))
    return run_


def loss_result(run_: Run, label: str = '') -> Result:
    """An airfoil run as a registry result: the final loss, the book's line, the loss figure."""
    fig = run_.animator.draw() if run_.animator is not None else None
    return Result({'loss': run_.final_loss}, book_line(run_), {'loss': fig} if fig else {},
                  [run_], run_.sec_per_epoch, note=label)


def register_run(section: str, name: str, title: str, book: str, make: Callable[[Any, int], Run]):
    """Register ``make(d2l, seed) -> Run`` as an experiment compared with the book's ``book`` entry."""
    experiment(section, name, title, book=book)(
        lambda d2l, ctx: loss_result(make(d2l, ctx.seed), run_note(make, d2l)))


def run_note(make: Callable, d2l: Any) -> str:
    """The concise trainer behind ``make`` on this backend, for the report's note ( for scratch)."""
    rule = getattr(make, 'concise_rule', None)
    return trainer_label(rule, d2l.BACKEND.name) if rule else ''


def scratch_run(rule: str, hp: dict, batch_size: int = 10, epochs: int = 2) -> Callable:
    """``make(d2l, seed)`` for :func:`register_run`: the scratch run of ``rule``."""
    return lambda d2l, seed: train_scratch(d2l, rule, hp, batch_size, epochs, seed, verbose=False)


def concise_run(rule: str) -> Callable:
    """``make(d2l, seed)`` for :func:`register_run`: the concise run of ``rule`` (:data:`CONCISE`)."""
    make = lambda d2l, seed: train_concise(d2l, rule, seed=seed, verbose=False)  # noqa: E731
    make.concise_rule = rule
    return make


@contextlib.contextmanager
def quiet_in_notebook():
    """Runs inside a notebook cell without their live figures (only a summary is wanted).

    The training loop's Animator draws live when it is created in a notebook; here it is
    created headless instead, so many runs in one cell cost no drawing (it was most of
    their time), and anything else they display is captured (what they print is kept).
    """
    in_notebook = plotting.in_notebook
    if not in_notebook():
        yield
        return
    from IPython.utils.capture import capture_output
    plotting.in_notebook = lambda: False
    try:
        with capture_output(stdout=False, stderr=False):
            yield
    finally:
        plotting.in_notebook = in_notebook


def overlay_backends(rule: str, hyperparams: dict | None = None, backends: Sequence[str] | None = None,
                     seed: int = 0, batch_size: int = 10, num_epochs: int = 2, verbose: bool = True):
    """Run the scratch ``rule`` on several backends with one seed, so each starts from the same
    weights and sees the same minibatches, and overlay the loss curves in one figure.
    Backends default to ``$D2L_OPTIM_BACKENDS`` (comma-separated) or else all that import
    here. Returns ``(runs, fig)``."""
    if backends is None and os.environ.get(BACKENDS_ENV):
        backends = [b.strip() for b in os.environ[BACKENDS_ENV].split(',') if b.strip()]
    names, skipped = available_backends(backends)
    runs: dict[str, Run] = {}
    for name in names:
        d2l = load_backend(name)
        with quiet_in_notebook():
            runs[name] = train_scratch(d2l, rule, hyperparams, batch_size, num_epochs, seed, verbose=False)
    fig = overlay_figure(runs, title=f'{rule}, seed {seed}')
    if verbose:
        ref = runs.get('numpy')
        for name, r in runs.items():
            diff = (f', max |loss - numpy| {np.max(np.abs(np.subtract(r.losses, ref.losses))):.1e}'
                    if ref is not None and name != 'numpy' else '')
            print(f'{name:>10}: {book_line(r)}{diff}')
        for name, why in skipped.items():
            print(f'{name:>10}: skipped ({why})')
    return runs, fig


def add_builtin_runs(runs: dict[str, Run], builtins: dict[str, tuple[str, dict, str]],
                     seed: int = 0, reference: str = 'numpy') -> None:
    """Train each framework's own optimizer, for the frameworks in ``runs``, and add the
    runs to ``runs`` as ``'<framework> built-in'``.

    ``builtins`` maps a framework to ``(its optimizer's name, the arguments closest to our
    rule, why they differ)``, the table a notebook shows. Each run has ``seed`` (the same
    weights and minibatches as ``runs``), is compiled where the framework can, and prints
    its final loss and largest gap to ``runs[reference]`` next to the reason.
    """
    ours = runs[reference]
    for name, (trainer, hyperparams, why) in builtins.items():
        if name not in runs:
            continue
        fw = load_backend(name)
        with quiet_in_notebook():
            run = fw.fit_concise_ch11(trainer, hyperparams, fw.get_data_ch11(10)[0], seed=seed,
                                      compile=fw.BACKEND.compile is not None)
        runs[f'{name} built-in'] = run
        gap = np.max(np.abs(np.subtract(run.losses, ours.losses)))
        print(f'{name:>10} built-in {trainer}: final {run.final_loss:.4f}, '
              f'max |loss - ours| {gap:.1e}: {why}')


def overlay_figure(runs: dict[str, Run], title: str = ''):
    """Loss curves of several runs (one per backend) in one figure."""
    fig, ax = new_figure((4.5, 3))
    fmts = ('-', 'm--', 'g-.', 'r:', 'c-', 'y--')
    plot([r.x for r in runs.values()], [r.losses for r in runs.values()], 'epoch', 'loss',
         legend=list(runs), ylim=[0.22, 0.35], fmts=fmts, axes=ax)
    if title:
        ax.set_title(title, fontsize=9)
    return fig
