"""The reproduction report: ``report.md`` and ``report.html`` (figures inline as base64 PNG;
the page is the Jinja2 template ``templates/report.html.j2``).

One row per experiment and backend: our value, the book's printed values, whether ours
agrees with the book (the printed trace digit for digit, or the final loss inside the
book's range across versions and frameworks), sec/epoch and wall time. Both files are
written atomically, so an interrupted run never leaves half a report.
"""
from __future__ import annotations

import base64
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import jinja2

from .files import write_together


@dataclass
class Row:
    """One experiment on one backend, as the report shows it."""

    section: str
    experiment: str
    title: str
    backend: str
    ours: str
    book: str = ''
    in_range: bool | None = None
    sec_per_epoch: float = math.nan
    wall_s: float = math.nan
    values: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)    # PNG file names inside the report folder
    note: str = ''
    error: str = ''

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ('sec_per_epoch', 'wall_s'):
            d[k] = None if not math.isfinite(d[k]) else d[k]
        d['values'] = {k: _json_number(v) for k, v in self.values.items()}
        return d


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _num(x: float, digits: int = 3) -> str:
    return '' if x is None or not math.isfinite(x) else f'{x:.{digits}f}'


def _verdict(row: Row) -> str:
    if row.error:
        return 'error'
    return {True: 'yes', False: 'NO', None: ''}[row.in_range]


def summary(rows: Sequence[Row]) -> dict[str, int]:
    """How many rows were checked against the book, agreed, disagreed, failed."""
    checked = [r for r in rows if r.in_range is not None and not r.error]
    return {'rows': len(rows), 'checked': len(checked), 'agree': sum(r.in_range for r in checked),
            'disagree': sum(not r.in_range for r in checked), 'errors': sum(bool(r.error) for r in rows)}


_COLUMNS = ('section', 'experiment', 'backend', 'ours', "book's values", 'in range', 'sec/epoch', 'wall (s)')


def _cells(row: Row) -> list[str]:
    ours = f'error: {row.error}' if row.error else row.ours
    return [row.section, row.title, row.backend, ours, row.book, _verdict(row),
            _num(row.sec_per_epoch), _num(row.wall_s, 2)]


def _md_escape(text: str) -> str:
    return text.replace('|', '\\|').replace('\n', ' ')


def _meta_lines(meta: dict) -> list[str]:
    return [f'{k}: {v}' for k, v in meta.items()]


def _section_parts(rows: Sequence[Row], section: str,
                   extra_figures: dict) -> tuple[list[tuple[str, str]], list[str]]:
    """A section's (caption, PNG) pairs, each file once, and its rows' notes."""
    figs: dict[str, str] = {}
    for r in rows:
        if r.section == section:
            for f in r.figures:
                figs.setdefault(f, f'{r.title} ({r.backend})')
    for caption, f in extra_figures.get(section, []):
        figs.setdefault(f, caption)
    notes = [f'{r.title} ({r.backend}): {r.note}' for r in rows if r.section == section and r.note]
    return [(caption, f) for f, caption in figs.items()], notes


def render_markdown(rows: Sequence[Row], meta: dict, sections: dict[str, str],
                    extra_figures: dict[str, list[tuple[str, str]]]) -> str:
    """The report as Markdown; figures are linked PNG files beside it."""
    s = summary(rows)
    out = ['# d2l-optim reproduce: chapter 11 against the book', '']
    out += [f'- {line}' for line in _meta_lines(meta)]
    out += [f"- agreement with the book: {s['agree']} of {s['checked']} checked rows "
            f"({s['disagree']} outside, {s['errors']} errors); traces must match digit for digit, "
            'losses (rounded to the book\'s 3 decimals) must lie in the book\'s range', '']
    out += ['| ' + ' | '.join(_COLUMNS) + ' |', '|' + '---|' * len(_COLUMNS)]
    out += ['| ' + ' | '.join(_md_escape(c) for c in _cells(r)) + ' |' for r in rows]
    out.append('')
    for section, title in sections.items():
        figs, notes = _section_parts(rows, section, extra_figures)
        if not figs and not notes:
            continue
        notes = [f'- {n}' for n in notes]
        out += [f'## {section} {title}', ''] + notes + ([''] if notes else [])
        out += [f'![{_md_escape(caption)}]({name})' for caption, name in figs]
        out.append('')
    return '\n'.join(out)


#: the HTML page's template, shipped as package data (d2l_optim/templates/)
_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader('d2l_optim', 'templates'), autoescape=True,
                                trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def render_html(rows: Sequence[Row], meta: dict, sections: dict[str, str],
                extra_figures: dict[str, list[tuple[str, str]]], folder: Path) -> str:
    """The report as one self-contained HTML page, every figure inline as base64 PNG."""
    parts = []
    for section, title in sections.items():
        figs, notes = _section_parts(rows, section, extra_figures)
        if figs or notes:
            parts.append({'number': section, 'title': title, 'notes': notes, 'figures': [
                {'caption': caption, 'png': base64.b64encode((folder / name).read_bytes()).decode('ascii')}
                for caption, name in figs if (folder / name).is_file()]})
    return _TEMPLATES.get_template('report.html.j2').render(
        meta_lines=_meta_lines(meta), s=summary(rows), columns=_COLUMNS,
        verdict_column=_COLUMNS.index('in range'),
        rows=[{'cells': _cells(r), 'verdict': _verdict(r)} for r in rows], sections=parts).rstrip('\n')


def write_report(folder: str | Path, rows: Sequence[Row], meta: dict, sections: dict[str, str],
                 extra_figures: dict[str, list[tuple[str, str]]] | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``folder`` (beside the PNGs); return both paths."""
    folder = Path(folder)
    extra = extra_figures or {}
    md, page = folder / 'report.md', folder / 'report.html'
    # both or neither: a full disk never leaves a report.md without its report.html
    write_together({md: render_markdown(rows, meta, sections, extra) + '\n',
                    page: render_html(rows, meta, sections, extra, folder) + '\n'})
    return md, page
