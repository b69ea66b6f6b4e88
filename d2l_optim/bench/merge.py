"""Saved ``bench --json`` reports: loaded and checked, merged, and their ratios and goals derived again.

JAX needs NumPy 2 and MXNet NumPy 1, so docs/benchmarks.md merges two runs: ``bench --json``
in each environment, then ``bench --from-json a.json b.json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from .goals import goals
from .results import add_ratios, measurements_from_json


def load_report(path: str) -> dict:
    """A saved ``--json`` report, or a ValueError naming the file and what is wrong with it."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"--from-json {path}: is a folder; name the file bench --json wrote")
    if not p.is_file():
        raise ValueError(f"--from-json {path}: no such file; write one with bench --json {path}")
    try:
        report = json.loads(p.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"--from-json {path}: not a JSON file ({e}); pass the file bench --json wrote") from None
    rows = report.get('measurements') if isinstance(report, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f"--from-json {path}: no 'measurements' list, so not a bench --json report; "
                         f"pass the file bench --json wrote")
    try:
        measurements_from_json(rows)
    except (KeyError, TypeError) as e:
        raise ValueError(f"--from-json {path}: a measurement lacks the key {e}; pass the file "
                         f"bench --json wrote") from None
    return report


def derive(report: dict) -> dict:
    """``report`` with its ratios and goals computed again from its samples."""
    ms = measurements_from_json(report['measurements'])
    add_ratios(ms)
    report['measurements'] = [m.to_json() for m in ms]
    report['goals'] = goals(ms, report.get('imports', []), report.get('sweep', []),
                            report.get('reproduce', []))
    return report


def from_json(paths: Sequence[str]) -> dict:
    """The reports saved at ``paths`` as one (merged when several), ratios and goals derived again."""
    loaded = [load_report(path) for path in paths]
    return derive(merge_reports(loaded) if len(loaded) > 1 else loaded[0])


def merge_reports(reports: Sequence[dict]) -> dict:
    """Several ``--json`` reports as one, e.g. the NumPy 1 environment's four backends and
    the NumPy 2 environment's JAX (they cannot share one). Rows are concatenated; a row
    that two reports both have (``import d2l_optim``, a backend measured twice) is taken
    from the first. Versions that differ are shown side by side (``1.26.4 / 2.4.6``).
    Ratios and goals are derived again by the caller."""
    first = reports[0]
    merged = {**first, 'machine': {**first['machine'], 'versions': dict(first['machine']['versions'])}}
    versions = merged['machine']['versions']
    for other in reports[1:]:
        for k, v in other['machine'].get('versions', {}).items():
            if v and versions.get(k) and v not in str(versions[k]).split(' / '):
                versions[k] = f'{versions[k]} / {v}'
            elif v and not versions.get(k):
                versions[k] = v
    keys = {'measurements': lambda r: (r['backend'], r['optimizer'], r['batch_size'], r['variant']),
            'imports': lambda r: r['module'], 'sweep': lambda r: (r['what'], r['backend']),
            'reproduce': lambda r: r['backend']}
    for field_name, key in keys.items():
        seen, rows = set(), []
        for report in reports:
            for row in report.get(field_name, []):
                if key(row) not in seen:
                    seen.add(key(row))
                    rows.append(row)
        merged[field_name] = rows
    merged['config'] = {**first.get('config', {}), 'backends': list(dict.fromkeys(
        b for r in reports for b in r.get('config', {}).get('backends', [])))}
    merged['seconds'] = sum(r.get('seconds', 0.0) for r in reports)
    return merged
