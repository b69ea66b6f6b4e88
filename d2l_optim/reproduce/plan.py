"""What a ``reproduce`` run will do, decided before any work: the experiments of the sections
asked for, the backends, the units that run them; and an earlier run's report cleared away.

Every mistake in the request (an unknown section or backend, a named backend that is not
installed, ``epochs`` or ``jobs`` below 1) raises here, before a backend loads or a file is written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .. import files
from .. import sections as ex
from ..backend import BACKENDS, BackendUnavailable, installed_backends, not_installed
from ..data import require
from ..interrupts import FIGURE_SUFFIXES
from ..sections import sensitivity
from ..workers import default_jobs
from .units import UNIT_COST, figure_name

#: the sections whose experiments train on the airfoil data (looked up once, before any runs)
AIRFOIL_SECTIONS = ('11.5', '11.6', '11.7', '11.8', '11.9', '11.10')
#: what a previous run left in the output folder, removed before this run writes its first figure
REPORT_FILES = ('report.md', 'report.html')
#: the section beyond the book (learning-rate sensitivity, d2l_optim/sections/sensitivity.py)
SENSITIVITY = ('11.10+', 'sensitivity')
#: every section in the report's order
SECTION_ORDER = (*ex.SECTIONS, SENSITIVITY[0], '11.11')


@dataclass
class Plan:
    """The experiments, the backends (those skipped, and why) and how many processes run them."""

    exps: list
    with_11_11: bool
    with_sensitivity: bool
    names: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    named: bool = False             # the backends were named (a missing one is an error, not a skip)
    jobs: int = 1

    @property
    def core(self) -> list:
        return [e for e in self.exps if not e.per_backend]

    @property
    def per_backend(self) -> list:
        return [e for e in self.exps if e.per_backend]

    def units(self, seed: int, eager: bool, out: Path) -> list[dict]:
        """The units of work, the longest first (:data:`UNIT_COST`), so that any free worker takes the next."""
        units = ([{'kind': 'core', 'label': ex.CORE, 'keys': [e.key for e in self.core]}] if self.core else []) \
            + [{'kind': 'backend', 'label': name, 'keys': [e.key for e in self.per_backend]}
               for name in (self.names if self.per_backend else [])]
        if self.with_sensitivity:
            units.append({'kind': 'sensitivity', 'label': sensitivity.SECTION, 'names': list(self.names)})
        for unit in units:
            unit.update(seed=seed, eager=eager, out=str(out))
        return sorted(units, key=lambda u: -UNIT_COST.get(u['label'], 1))

    def steps(self) -> int:
        """The rows the progress bar counts (11.10+ is one step)."""
        return len(self.core) + len(self.per_backend) * len(self.names) + bool(self.with_sensitivity)


def choose_sections(sections: Sequence[str] | None) -> tuple[list, bool, bool]:
    """``(experiments of 11.1-11.10, with 11.11, with 11.10+)``; by default 11.1-11.10 and 11.10+."""
    with_11_11 = sections is not None and '11.11' in sections
    with_sensitivity = sections is None or any(x in SENSITIVITY for x in sections)
    named_only = with_11_11 or (sections is not None and with_sensitivity)
    if sections is not None:
        bad = [x for x in sections if x not in (*ex.SECTIONS, '11.11', *SENSITIVITY)]
        if bad:
            raise ValueError(f"unknown section(s) {', '.join(bad)}; choose from: "
                             f"{', '.join((*ex.SECTIONS, SENSITIVITY[0], '11.11'))}")
        sections = [x for x in sections if x != '11.11' and x not in SENSITIVITY]
    exps = ex.select(sections) if sections or not named_only else []
    return exps, with_11_11, with_sensitivity


def choose_backends(backends: Sequence[str] | None, jobs: int) -> tuple[list[str], dict[str, str]]:
    """``(backends to run, skipped -> why)``. In one process each backend is imported here first,
    skipping (or, if named, refusing) those that fail; with workers each imports its own, so here
    only what is not installed is refused (one that fails in its worker is skipped, or if named,
    its rows carry the error)."""
    if backends is None:
        return (installed_backends(), {}) if jobs > 1 else ex.available_backends()
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(unknown)}; choose from: {', '.join(BACKENDS)}")
    if jobs > 1:
        names = list(dict.fromkeys(backends))
        missing = {b: why for b in names if (why := not_installed(b))}
    else:
        names, missing = ex.available_backends(dict.fromkeys(backends))
    if missing:          # asked for by name: say why it cannot run, before any work
        raise BackendUnavailable('; '.join(f'{k}: {v}' for k, v in missing.items()))
    return names, {}


def make_plan(backends: Sequence[str] | None, sections: Sequence[str] | None,
              epochs: int | None = None, jobs: int | None = None) -> Plan:
    """The run's :class:`Plan`, or the error naming the bad value, before any work."""
    exps, with_11_11, with_sensitivity = choose_sections(sections)
    if epochs is not None and epochs < 1:
        raise ValueError(f'--epochs must be >= 1, got {epochs}')
    if with_sensitivity or any(e.section in AIRFOIL_SECTIONS for e in exps):
        require('airfoil')          # once: missing or corrupt data stops here, before any backend loads
    n_units = bool(exps) * (1 + len(installed_backends() if backends is None else backends)) + with_sensitivity
    jobs = default_jobs(n_units) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f'--jobs must be >= 1, got {jobs}')
    names, skipped = choose_backends(backends, jobs)
    return Plan(exps, with_11_11, with_sensitivity, names, skipped, backends is not None, jobs)


def figure_names(plan: Plan) -> list[str]:
    """Every figure file the run may write into its folder (an experiment that draws several
    adds their names to these), so that a user's file of one of these names is refused before
    any work rather than when its figure is reached."""
    names = [figure_name(e, ex.CORE) for e in plan.core]
    for e in plan.per_backend:
        names += [figure_name(e, b) for b in plan.names] + [figure_name(e, 'backends')]
    if plan.with_sensitivity:       # sensitivity.section_rows: on one fast backend, else NumPy
        names += [f'{sensitivity.SECTION}-sensitivity-{b}.png' for b in dict.fromkeys([*plan.names, 'numpy'])
                  if b in sensitivity.FAST_SWEEPS]
    if plan.with_11_11:             # lr_scheduling.run_section_11_11
        names += [f'11.11-{b}.png' for b in plan.names] + ['11.11-schedules.png']
    return names


def check_folder(plan: Plan, out: Path) -> None:
    """Raise :class:`~d2l_optim.files.NotOursError` (one line: the file, the fix) if the run
    would replace a file of the user's in ``out``: its report or one of its figures."""
    for name in [*REPORT_FILES, *figure_names(plan)]:
        files.check_replaceable(out / name)


def clear_previous_run(out: Path) -> list[Path]:
    """Remove an earlier run's report, then its figures, so that the folder never holds a
    report beside figures of another run (an interrupted rerun leaves figures, no report).

    Only files the folder's manifest proves we wrote, unchanged since, are removed: the
    user's own files (their ``11.*.png``, the PNGs their notes name) stay, byte for byte."""
    ours = [out / name for name in files.manifest(out) if Path(name).suffix in FIGURE_SUFFIXES]
    removed, _ = files.remove_owned([out / n for n in REPORT_FILES] + sorted(ours))
    return removed


def section_titles(plan: Plan) -> dict[str, str]:
    """Section -> title, in the report's order, for the sections this run has."""
    titles = {s: ex.SECTION_TITLES[s] for s in ex.SECTIONS}
    if plan.with_11_11:
        titles['11.11'] = 'Learning Rate Scheduling'
    if plan.with_sensitivity:
        titles[sensitivity.SECTION] = sensitivity.TITLE
    return {k: titles[k] for k in sorted(titles, key=SECTION_ORDER.index)}


def sort_rows(rows: list[Any]) -> None:
    """Rows in the report's order: by section, then by experiment as the registry lists them."""
    order = {s: i for i, s in enumerate(SECTION_ORDER)}
    exp_order = {k: i for i, k in enumerate(ex.EXPERIMENTS)}
    rows.sort(key=lambda r: (order[r.section], exp_order.get(f'{r.section}/{r.experiment}', 0)))
