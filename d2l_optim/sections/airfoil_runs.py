"""The airfoil runs of 11.5-11.10 shared by ``reproduce`` and the notebooks: the scratch run
of a rule through ``fit_ch11``, the concise run with each framework's own optimizer
(:data:`CONCISE`, resolved lazily), and a context that keeps many runs in one notebook
cell quiet. Their ``reproduce`` rows are registered by ``airfoil_rows``; the overlay of
backends and the frameworks' built-ins beside our rule are in ``cross_backend``.
"""
from __future__ import annotations

import contextlib
import importlib
from typing import Any

from .. import plotting
from ..harness import Run
from ..rules import get_rule


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
    states = getattr(d2l, rule_.init_name)(feature_dim) if rule_.n_states else None
    run_ = d2l.fit_ch11(getattr(d2l, rule_.book_name), states, hp, data_iter, feature_dim, num_epochs,
                        seed=seed)
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

