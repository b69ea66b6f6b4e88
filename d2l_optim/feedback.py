"""The feedback page ``lab grade`` writes per submission: each check's message beside the code.

Rendered from the Jinja2 template ``templates/feedback.html.j2`` (package data),
with autoescaping: a submission's code and error texts are shown, never run. The page's
words are translated with Jinja2's i18n extension, through :mod:`d2l_optim.i18n`, into
the language the submission was graded in (``Graded.lang``).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from . import i18n
from .grading import CheckRow, Graded
from .lab import cell_source


@lru_cache(maxsize=1)
def _template() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape
    env = Environment(loader=PackageLoader('d2l_optim', 'templates'),
                      autoescape=select_autoescape(['html', 'j2']), keep_trailing_newline=True,
                      extensions=['jinja2.ext.i18n'])
    # the callables look the language up at each call: one cached template serves every language
    env.install_gettext_callables(i18n.gettext, i18n.ngettext)
    return env.get_template('feedback.html.j2')


def feedback_html(graded: Graded) -> str:
    """A self-contained page: per check, the learner's code, then the check's message."""
    checks = [r for r in graded.rows if r.check]
    rows = [{'check': r.check, 'passed': r.passed, 'mistake': r.mistake,
             'code': code_for(graded.nb, r), 'text': r.message or r.reason} for r in graded.rows]
    with i18n.language(graded.lang) as lang:
        return _template().render(
            title=graded.rows[0].file if graded.rows else str(graded.path),
            n_pass=sum(r.passed for r in checks), n=len(checks), problems=graded.problems,
            stopped_after=graded.stopped_after, rows=rows, lang=lang)


def code_for(nb: Any, row: CheckRow) -> list[str]:
    """The cell defining the checked function (if found) and the cell calling check."""
    if nb is None:
        return []
    out = []
    fn = row.fn.split('.')[-1] if row.fn else ''
    if fn:
        pattern = re.compile(rf'^\s*def\s+{re.escape(fn)}\s*\(', re.M)
        for cell in nb.cells:
            if cell.cell_type == 'code' and pattern.search(cell_source(cell)):
                out.append(cell_source(cell))
                break
    if isinstance(row.cell, int) and row.cell < len(nb.cells):
        src = cell_source(nb.cells[row.cell])
        if src not in out:
            out.append(src)
    return out
