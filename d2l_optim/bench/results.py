"""What a cell measured: timed calls, their medians, and the ratios and speedups derived from them."""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Sequence

from .config import BASELINE, EAGER


@dataclass
class Sample:
    """One timed call."""

    sec_per_epoch: float        # training time / epochs, evaluations excluded (as train_ch11)
    steady: float               # sec/epoch after the first evaluation point (no start-up, no trace)
    wall_s: float               # the whole call: training, evaluations, drawing the figure once
    final_loss: float


@dataclass
class Measurement:
    """Medians of the repeats of one variant in one cell (backend, optimizer, batch size)."""

    backend: str
    optimizer: str
    batch_size: int
    variant: str
    epochs: int
    samples: list = field(default_factory=list)   # Sample per repeat (warm-up excluded)
    note: str = ''                                 # why a variant did not run
    ratio: float | None = None                     # sec/epoch over the baseline's (see BASELINE)
    baseline: str | None = None
    speedup: float | None = None                   # eager twin's sec/epoch over this one's
    speedup_steady: float | None = None            # the same after the first evaluation (no trace)

    @property
    def ok(self) -> bool:
        return bool(self.samples)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples) if self.samples else math.nan

    @property
    def sec_per_epoch(self) -> float:
        return self.median('sec_per_epoch')

    @property
    def steady(self) -> float:
        return self.median('steady')

    @property
    def wall_s(self) -> float:
        return self.median('wall_s')

    @property
    def final_loss(self) -> float:
        return self.median('final_loss')

    def to_json(self) -> dict:
        d = asdict(self)
        d.update(sec_per_epoch=finite_or_none(self.sec_per_epoch), steady=finite_or_none(self.steady),
                 wall_s=finite_or_none(self.wall_s), final_loss=finite_or_none(self.final_loss))
        return d


def finite_or_none(x: float | None) -> float | None:
    """``x``, or ``None`` (JSON's null) for a missing or non-finite number."""
    return None if x is None or not math.isfinite(x) else x


def measurements_from_json(rows: Sequence[dict]) -> list[Measurement]:
    """Measurements back from a report's JSON (samples as :class:`Sample`)."""
    out = []
    for r in rows:
        fields = {k: r[k] for k in ('backend', 'optimizer', 'batch_size', 'variant', 'epochs', 'note')}
        m = Measurement(**fields, samples=[Sample(**s) for s in r['samples']])
        m.ratio, m.baseline, m.speedup = r.get('ratio'), r.get('baseline'), r.get('speedup')
        m.speedup_steady = r.get('speedup_steady')
        out.append(m)
    return out


def by_cell(measurements: Sequence[Measurement]) -> dict[tuple, dict[str, Measurement]]:
    """``(backend, optimizer, batch size) -> variant -> measurement``, in the order measured."""
    cells: dict[tuple, dict[str, Measurement]] = {}
    for m in measurements:
        cells.setdefault((m.backend, m.optimizer, m.batch_size), {})[m.variant] = m
    return cells


def ran(cell: dict[str, Measurement], variant: str) -> bool:
    """Whether ``variant`` was timed in ``cell`` (it has samples)."""
    return variant in cell and cell[variant].ok


def add_ratios(measurements: Sequence[Measurement]) -> None:
    """Fill ``ratio`` (over the baseline's median sec/epoch) and ``speedup`` (eager twin's
    median over this one's) from the measured numbers, cell by cell."""
    for cell in by_cell(measurements).values():
        for v, m in cell.items():
            m.ratio = m.baseline = m.speedup = m.speedup_steady = None
            if not m.ok:
                continue
            base = BASELINE.get(v)
            if base == 'floor_builtin' and not ran(cell, base):
                base = 'floor'          # NumPy: its concise path runs a core rule
            if base and ran(cell, base):
                m.baseline, m.ratio = base, m.sec_per_epoch / cell[base].sec_per_epoch
            twin = EAGER.get(v)
            if twin and ran(cell, twin):
                m.speedup = cell[twin].sec_per_epoch / m.sec_per_epoch
                m.speedup_steady = cell[twin].steady / m.steady


def steady_per_epoch(xs: Sequence[float], times: Sequence[float], fallback: float) -> float:
    """Seconds per epoch between the first and the last evaluation point."""
    if len(xs) >= 2 and xs[-1] > xs[0]:
        return (times[-1] - times[0]) / (xs[-1] - xs[0])
    return fallback
