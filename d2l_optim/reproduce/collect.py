"""The parent's side of a ``reproduce`` run: every unit's messages as they arrive (rows, finished
figures, wall times), the progress bar, and the all-backends overlay of each airfoil experiment
drawn as soon as every backend has run it."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from .. import files
from .. import sections as ex
from ..backend import BACKENDS
from ..plotting import pyplot, save_figure
from ..report import Row
from ..sections.cross_backend import overlay_figure
from .plan import Plan
from .units import figure_name


def progress_bar(total: int, stream: IO[str] | None = None) -> tqdm:
    """``[#####-----] 3/10 00:04 label`` on stderr (redrawn in place on a terminal)."""
    return tqdm(total=max(total, 1), file=stream or sys.stderr, ascii='-#', leave=True,
                bar_format='[{bar:28}] {n_fmt}/{total_fmt} {elapsed} {desc}')


def overlay(key: str, runs: dict[str, Any], out: Path) -> tuple[str, tuple[str, str]]:
    """One airfoil experiment's loss curves on every backend that ran it, in one figure (the
    backends in their usual order, whichever finished first); ``(section, (caption, file))``."""
    exp = ex.EXPERIMENTS[key]
    fig = overlay_figure({b: runs[b] for b in BACKENDS if b in runs}, title=exp.title)
    name = figure_name(exp, 'backends')
    save_figure(fig, out / name)
    pyplot().close(fig)
    return exp.section, (f'{exp.title}: all backends, one seed', name)


class Collector:
    """Called with each message of :func:`d2l_optim.reproduce.units.run_unit`, in the parent's thread."""

    def __init__(self, plan: Plan, out: Path, bar: tqdm) -> None:
        self.plan, self.out, self.bar = plan, out, bar
        self.rows: list[Row] = []
        self.runs_by_exp: dict[str, dict[str, Any]] = {}
        self.overlays: dict[str, tuple[str, tuple[str, str]]] = {}
        self.wall: dict[str, float] = {}

    def step(self, label: str) -> None:
        self.bar.set_description_str(label, refresh=False)
        self.bar.update()

    def __call__(self, message: tuple) -> None:
        kind, label, payload = message
        names, per_backend = self.plan.names, self.plan.per_backend
        if kind == 'row':
            row, key, run = payload
            files.record_finished(self.out / name for name in row.figures)
            if run is not None:
                runs = self.runs_by_exp.setdefault(key, {})
                runs[label] = run
                if len(names) >= 2 and len(runs) == len(names):
                    self.overlays[key] = overlay(key, runs, self.out)    # while workers run
            self.rows.append(row)
            self.step(f'{row.section} {row.title[:50]} [{label}]')
        elif kind == 'rows':            # a section computed as a whole (11.10+)
            for row in payload:
                files.record_finished(self.out / name for name in row.figures)
            self.rows.extend(payload)
            self.step(f'{label} [{len(payload)} rows]')
        elif kind == 'unavailable' and not self.plan.named:     # a worker could not import it
            self.plan.skipped[label] = payload
            names.remove(label)
            for _ in per_backend:
                self.step(f'[{label}: unavailable]')
        elif kind == 'unavailable':     # named: every row says why
            for exp in per_backend:
                self.rows.append(Row(exp.section, exp.name, exp.title, label, '',
                                     ex.check_book(exp, ex.Result())[0], error=f'BackendUnavailable: {payload}'))
                self.step(f'{exp.section} {exp.title[:50]} [{label}: unavailable]')
        else:
            self.wall[label] = payload

    def extra_figures(self) -> dict[str, list[tuple[str, str]]]:
        """Section -> the overlays' (caption, file), drawing those a backend's absence left undrawn."""
        for key, runs in self.runs_by_exp.items():
            if key not in self.overlays and len(runs) >= 2:
                self.overlays[key] = overlay(key, runs, self.out)
        extra: dict[str, list[tuple[str, str]]] = {}
        for key in sorted(self.overlays, key=list(ex.EXPERIMENTS).index):
            section, entry = self.overlays[key]
            extra.setdefault(section, []).append(entry)
        return extra
