"""Reading a sweep: the result record, the best value and robustness width per rule, the table,
the sensitivity figure.

A run is a dict: its backend, rule, hyperparameters and seed, the
losses taken where ``train_ch11`` takes them, the final loss and whether (and in which
epoch) it diverged. A diverged run counts as an infinite final loss.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

#: the least-squares optimum of the 1500-row airfoil problem, 1/2 mean squared residual
LEAST_SQUARES_LOSS = 0.24169


@dataclass
class SweepResult:
    """The runs of one sweep, in the order of ``product(grid points, seeds)``."""

    optimizer: str
    backend: str
    runs: list[dict]
    x: list[float]                   # epochs at which the losses were taken (shared by all runs)
    wall_s: float
    dtype: str = 'float32'
    grid: dict = field(default_factory=dict)

    def to_json(self) -> list[dict]:
        """The runs with NaN/inf written as null, so the JSON is valid."""
        clean = lambda v: v if v is None or math.isfinite(v) else None  # noqa: E731
        return [{**r, 'losses': [clean(v) for v in r['losses']], 'final_loss': clean(r['final_loss'])}
                for r in self.runs]


def swept_param(runs: Sequence[dict], preferred: Sequence[str] = ('lr', 'gamma', 'rho', 'momentum',
                                                                  'beta1', 'beta2', 'eps')) -> str | None:
    """The first hyperparameter that takes more than one value in ``runs`` (``lr`` first)."""
    for name in preferred:
        if len({r['hyperparams'].get(name) for r in runs if name in r['hyperparams']}) > 1:
            return name
    return None


def _final(run: dict) -> float:
    v = run['final_loss']
    return math.inf if run['diverged'] or v is None or not math.isfinite(v) else float(v)


def curve(runs: Sequence[dict], param: str | None) -> dict[str, np.ndarray]:
    """Median, min and max final loss over seeds at each value of ``param`` (one rule's runs),
    the other hyperparameters held at the best point. Diverged runs count as inf."""
    by_point: dict[tuple, list[dict]] = {}
    for r in runs:
        by_point.setdefault(tuple(sorted(r['hyperparams'].items())), []).append(r)
    medians = {pt: float(np.median([_final(r) for r in rs])) for pt, rs in by_point.items()}
    best = min(medians, key=medians.get)
    best_hp = dict(best)
    if param is None or param not in best_hp:
        rs = by_point[best]
        finals = np.array([_final(r) for r in rs])
        return {'values': np.array([math.nan]), 'median': np.array([medians[best]]),
                'min': finals.min(keepdims=True), 'max': finals.max(keepdims=True),
                'diverged': np.array([sum(r['diverged'] for r in rs)]), 'best': best_hp}
    line = sorted((pt for pt in by_point
                   if all(v == best_hp[k] for k, v in pt if k != param)), key=lambda pt: dict(pt)[param])
    finals = [np.array([_final(r) for r in by_point[pt]]) for pt in line]
    return {'values': np.array([dict(pt)[param] for pt in line]),
            'median': np.array([medians[pt] for pt in line]),
            'min': np.array([f.min() for f in finals]), 'max': np.array([f.max() for f in finals]),
            'diverged': np.array([sum(r['diverged'] for r in by_point[pt]) for pt in line]),
            'best': best_hp}


def robustness_width(values: np.ndarray, medians: np.ndarray, tolerance: float = 0.01) -> float:
    """hi / lo of the unbroken range of values around the best one whose median final loss
    stays within ``tolerance`` (1%) of the best; 1.0 when only the best point qualifies."""
    if len(values) == 0 or not np.isfinite(medians).any():
        return math.nan
    b = int(np.nanargmin(np.where(np.isfinite(medians), medians, np.inf)))
    ok = medians <= medians[b] * (1 + tolerance)
    lo = hi = b
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(values) - 1 and ok[hi + 1]:
        hi += 1
    return float(values[hi] / values[lo])


def summarize(runs: Sequence[dict], param: str | None = None) -> list[dict]:
    """One row per rule: the best value of ``param``, the median final loss there over seeds,
    the robustness width, and how many runs diverged."""
    param = param or swept_param(runs)
    rows = []
    for name, rs in runs_by_rule(runs).items():
        own = param if param and len({r['hyperparams'].get(param) for r in rs}) > 1 else swept_param(rs)
        c = curve(rs, own)
        if own is None:
            best, median, width = math.nan, float(c['median'][0]), math.nan
        elif all(r['diverged'] for r in rs):      # no best value to name
            best = median = width = math.nan
        else:
            b = int(np.argmin(c['median']))
            best, median = float(c['values'][b]), float(c['median'][b])
            width = robustness_width(c['values'], c['median'])
        rows.append({'optimizer': name, 'param': own, 'best': best, 'median_final_loss': median,
                     'width': width, 'runs': len(rs), 'diverged': sum(r['diverged'] for r in rs),
                     'best_hyperparams': c['best']})
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """The summary as aligned text, one line per rule."""
    lines = [f"{'optimizer':<10} {'swept':<6} {'best':>10} {'median final loss':>18} "
             f"{'width (hi/lo)':>14} {'diverged':>10}"]
    for r in rows:
        best = '-' if r['param'] is None or not math.isfinite(r['best']) else f"{r['best']:.4g}"
        width = '-' if not math.isfinite(r['width']) else f"{r['width']:.3g}x"
        median = (f"{r['median_final_loss']:.5f}" if math.isfinite(r['median_final_loss'])
                  else 'all diverged')
        lines.append(f"{r['optimizer']:<10} {r['param'] or '-':<6} {best:>10} "
                     f"{median:>18} {width:>14} {r['diverged']:>4}/{r['runs']:<5}")
    return '\n'.join(lines)


def runs_by_rule(runs: Sequence[dict]) -> dict[str, list[dict]]:
    """The runs grouped by rule, in the order the rules first appear."""
    out: dict[str, list[dict]] = {}
    for r in runs:
        out.setdefault(r['optimizer'], []).append(r)
    return out


def sensitivity_figure(runs: Sequence[dict], param: str | None = None, figsize=(6.5, 4),
                       title: str | None = None):
    """Final loss against ``param`` (log axis): per rule a median line and a min-max band over
    seeds, x where a run diverged, the least-squares optimum dashed. A rule not swept on
    ``param`` is drawn flat at its best point."""
    import matplotlib.pyplot as plt
    param = param or swept_param(runs) or 'lr'
    fig, ax = plt.subplots(figsize=figsize)
    by_rule = runs_by_rule(runs)
    swept = {name: curve(rs, param if len({r['hyperparams'].get(param) for r in rs}) > 1 else None)
             for name, rs in by_rule.items()}
    xs = np.concatenate([c['values'] for c in swept.values() if np.isfinite(c['values']).all()]
                        or [np.array([1e-3, 1.0])])
    finite = np.concatenate([c['max'][np.isfinite(c['max'])] for c in swept.values()] + [np.array([])])
    top = min(float(np.max(finite)) * 1.2 if finite.size else 1.0, 10.0)
    top = max(top, LEAST_SQUARES_LOSS * 1.5)
    bottom = LEAST_SQUARES_LOSS * 0.97
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for i, (name, c) in enumerate(swept.items()):
        color = colors[i % len(colors)]
        if not np.isfinite(c['values']).all():      # not swept on param: flat at its best point
            ax.axhline(c['median'][0], color=color, lw=1.5, ls=':',
                       label=f"{name} (no {param}; {_short(c['best'])})")
            continue
        v = c['values']
        ax.plot(v, np.where(np.isfinite(c['median']), c['median'], np.nan), '-', color=color, lw=1.5,
                label=name)
        lo, hi = np.minimum(c['min'], top), np.minimum(c['max'], top)
        ax.fill_between(v, lo, hi, color=color, alpha=0.2, lw=0)
        bad = c['diverged'] > 0
        if bad.any():
            y = top * (bottom / top) ** (0.03 + 0.035 * i)     # one row of marks per rule
            ax.plot(v[bad], np.full(bad.sum(), y), 'x', color=color, ms=5, mew=1.5)
    ax.axhline(LEAST_SQUARES_LOSS, color='k', ls='--', lw=1, label=f'least squares {LEAST_SQUARES_LOSS}')
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_xlim(xs.min(), xs.max())
    ax.set_ylim(bottom, top)
    ax.set_xlabel(param)
    ax.set_ylabel('final loss (median, min-max over seeds)')
    ax.set_title(title or f'final loss after training against {param}; x: a seed diverged there',
                 fontsize=9)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=7, loc='upper left', ncol=2)
    fig.tight_layout()
    return fig


def _short(hp: Mapping[str, float]) -> str:
    return ', '.join(f'{k}={v:g}' for k, v in hp.items())
