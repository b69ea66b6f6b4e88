"""The ``reproduce`` rows of the airfoil runs (11.5-11.10): each section registers its
scratch and concise runs here, and each row reports the final loss, the book's line and
the loss figure, compared with the book's printed loss."""
from __future__ import annotations

from typing import Any, Callable

from ..harness import Run
from .airfoil_runs import book_line, train_concise, train_scratch, trainer_label
from .registry import Result, experiment


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
    """The concise trainer behind ``make`` on this backend, for the report's note ('' for scratch)."""
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
