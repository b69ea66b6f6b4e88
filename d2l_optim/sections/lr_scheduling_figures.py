"""The figures of 11.11 that ``reproduce`` saves: one per backend (rate, training loss and
test accuracy per epoch of each run) and the book's schedule plots. Matplotlib is imported
only when a figure is drawn."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..plotting import save_figure
from ..schedulers import schedule_values


def save_backend_figure(rows: Sequence[dict], path: Path) -> None:
    """Rate, training loss and test accuracy per epoch, one line per run."""
    from matplotlib.figure import Figure  # lazy: matplotlib loads only when a figure is drawn
    fig = Figure(figsize=(10.5, 3))
    axes = fig.subplots(1, 3)
    for r in rows:
        label = r['experiment'] + (' (built-in)' if r['scheduler_impl'] != 'd2l_optim.schedulers' else '')
        epochs = range(1, len(r['lrs']) + 1)
        for ax, key in zip(axes, ('lrs', 'train_loss_curve', 'test_acc_curve')):
            ax.plot(epochs, r[key], label=label)
    for ax, title in zip(axes, ('learning rate', 'train loss', 'test acc')):
        ax.set_xlabel('epoch')
        ax.set_title(title)
        ax.grid()
    axes[0].legend(fontsize='small')
    if rows:
        fig.suptitle(f"{rows[0]['backend']}: {rows[0]['model']} on {rows[0]['data']}", fontsize='small')
    fig.subplots_adjust(top=0.8, wspace=0.3)
    save_figure(fig, path)


def save_schedule_figure(curves: Sequence[tuple[str, Any, int]], path: Path) -> None:
    """One plot per (title, scheduler, steps): the rate over the steps."""
    from matplotlib.figure import Figure  # lazy: matplotlib loads only when a figure is drawn
    fig = Figure(figsize=(3.2 * len(curves), 2.6))
    for ax, (title, scheduler, n) in zip(fig.subplots(1, len(curves)), curves):
        ax.plot(range(n), schedule_values(scheduler, n))
        ax.set_title(title, fontsize='small')
        ax.set_xlabel('t')
        ax.grid()
    save_figure(fig, path)
