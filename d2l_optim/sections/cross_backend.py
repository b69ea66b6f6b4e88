"""The notebooks' last cells, "the same rule on every framework, and the frameworks' own
optimizers" (11.4-11.10), and the overlay figures of ``reproduce``: one seed's scratch run
of a rule on several backends, each framework's built-in optimizer beside it, and the loss
curves in one figure.

On a machine without some frameworks the cells say which are missing and how to install
them (``pip install "d2l-optim[torch]"``), and draw what ran here."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..backend import BACKENDS, load_backend, not_installed
from ..harness import Run
from ..plotting import plot
from .airfoil_runs import book_line, quiet_in_notebook, train_scratch
from .registry import BACKENDS_ENV, available_backends, new_figure


def overlay_backends(rule: str, hyperparams: dict | None = None, backends: Sequence[str] | None = None,
                     seed: int = 0, batch_size: int = 10, num_epochs: int = 2, verbose: bool = True):
    """Run the scratch ``rule`` on several backends with one seed, so each starts from the same
    weights and sees the same minibatches, and overlay the loss curves in one figure.
    Backends default to ``$D2L_OPTIM_BACKENDS`` (comma-separated) or else every backend: those
    that do not import here are listed with the reason (a missing framework with its install
    line) and left out of the figure. Returns ``(runs, fig)``."""
    if backends is None and os.environ.get(BACKENDS_ENV):
        backends = [b.strip() for b in os.environ[BACKENDS_ENV].split(',') if b.strip()]
    names, skipped = available_backends(list(BACKENDS) if backends is None else backends)
    runs: dict[str, Run] = {}
    for name in names:
        d2l = load_backend(name)
        with quiet_in_notebook():
            runs[name] = train_scratch(d2l, rule, hyperparams, batch_size, num_epochs, seed, verbose=False)
    missing = [name for name in skipped if name in BACKENDS and not_installed(name)]
    title = f'{rule}, seed {seed}'
    if missing:
        title += f" ({', '.join(runs) or 'nothing'} only: {', '.join(missing)} not installed)"
    fig = overlay_figure(runs, title=title)
    if verbose:
        ref = runs.get('numpy')
        for name, r in runs.items():
            diff = (f', max |loss - numpy| {np.max(np.abs(np.subtract(r.losses, ref.losses))):.1e}'
                    if ref is not None and name != 'numpy' else '')
            print(f'{name:>10}: {book_line(r)}{diff}')
    for name, why in skipped.items():
        if name in missing:
            print(f'{name:>10}: not installed here; to add it: {BACKENDS[name][1]}')
        else:
            print(f'{name:>10}: skipped ({why})')
    if missing:
        print(f"The figure shows {', '.join(runs) or 'no run'} only: {', '.join(missing)} "
              f"{'is' if len(missing) == 1 else 'are'} not installed here (install lines above).")
    return runs, fig


def add_builtin_runs(runs: dict[str, Run], builtins: dict[str, tuple[str, dict, str]],
                     seed: int = 0, reference: str = 'numpy', batch_size: int = 10,
                     num_epochs: int = 2) -> list[str]:
    """Train each framework's own optimizer, for the frameworks in ``runs``, and add the
    runs to ``runs`` as ``'<framework> built-in'``; return the names added.

    ``builtins`` maps a framework to ``(its optimizer's name, the arguments closest to our
    rule, why they differ)``, the table a notebook shows. Each run has ``seed``, ``batch_size``
    and ``num_epochs`` (pass those of :func:`overlay_backends`, so it gets the same weights
    and minibatches as ``runs``), is compiled where the framework can, and prints its final
    loss and largest gap to ``runs[reference]`` next to the reason. Frameworks not installed
    here are named in one line with their install lines.
    """
    ours = runs[reference]
    added = []
    for name, (trainer, hyperparams, why) in builtins.items():
        if name not in runs:
            continue
        fw = load_backend(name)
        with quiet_in_notebook():
            run = fw.fit_concise_ch11(trainer, hyperparams, fw.get_data_ch11(batch_size)[0], num_epochs,
                                      seed=seed, compile=fw.BACKEND.compile is not None)
        runs[f'{name} built-in'] = run
        added.append(f'{name} built-in')
        gap = np.max(np.abs(np.subtract(run.losses, ours.losses)))
        print(f'{name:>10} built-in {trainer}: final {run.final_loss:.4f}, '
              f'max |loss - ours| {gap:.1e}: {why}')
    missing = [name for name in builtins if name not in runs and name in BACKENDS and not_installed(name)]
    if missing:
        print(f"Not run, not installed here: the built-in optimizers of {', '.join(missing)} "
              f"({'; '.join(BACKENDS[name][1] for name in missing)}).")
    return added


def overlay_figure(runs: dict[str, Run], title: str = ''):
    """Loss curves of several runs (one per backend) in one figure."""
    fig, ax = new_figure((4.5, 3))
    fmts = ('-', 'm--', 'g-.', 'r:', 'c-', 'y--')
    plot([r.x for r in runs.values()], [r.losses for r in runs.values()], 'epoch', 'loss',
         legend=list(runs), ylim=[0.22, 0.35], fmts=fmts, axes=ax)
    if title:
        ax.set_title(title, fontsize=9)
    return fig
