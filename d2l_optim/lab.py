"""Labs on the chapter's notebooks: the student version, and reading submitted notebooks.

* :func:`student_version` turns a section notebook into the one students get:
  the lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` become
  ``raise NotImplementedError("your code here")`` (at the marker's indentation,
  which is the whole cell when the markers enclose it), a line ending in
  ``# SOLUTION`` keeps only its left-hand side (``eps = ...``), and cells tagged
  ``solution`` are emptied.
* :func:`read_notebook` reads a submission without ever raising, and
  :func:`find_notebooks` / :func:`feedback_name` name the files of a grading run.
* :func:`set_notebook_language` records a lab's language (``lab build --lang ja``) in a
  student notebook's metadata, where :func:`notebook_language` finds it when grading.

The other lab modules: :mod:`d2l_optim.lab_formats` (nbgrader and otter-assign
sources), :mod:`d2l_optim.grading` with :mod:`d2l_optim.lab_judge`,
:mod:`d2l_optim.lab_worker`, :mod:`d2l_optim.lab_wire` and :mod:`d2l_optim.sandbox`
(``lab grade``), :mod:`d2l_optim.feedback` (the feedback page). The ``lab``
command (``d2l_optim/commands/lab.py``) wires them to folders. nbformat, nbclient
and ipykernel come with ``pip install "d2l-optim[lab]"``.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

from .i18n import gettext as _, known_language

BEGIN, END, INLINE = '# BEGIN SOLUTION', '# END SOLUTION', '# SOLUTION'
STUB = 'raise NotImplementedError("your code here")'
SOLUTION_TAG = 'solution'
LAB_EXTRA = 'pip install "d2l-optim[lab]"'
#: the notebook metadata key holding what d2l-optim records: {"language": "ja"}
METADATA_KEY = 'd2l_optim'
#: the left-hand side of an assignment marked # SOLUTION
_ASSIGNMENT = re.compile(r'^(\s*[\w.\[\], ]+?)\s*[-+*/]?=(?!=)')


class LabError(ValueError):
    """A notebook that cannot be turned into a lab (unbalanced markers, ...)."""


def _nbformat():
    try:
        import nbformat
    except ImportError as e:
        raise ImportError(f"the lab commands need nbformat and nbclient: {LAB_EXTRA}") from e
    return nbformat


# ---------------------------------------------------------------- student notebooks

def cell_source(cell: Any) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    src = cell.get('source', '')
    return ''.join(src) if isinstance(src, list) else src


def strip_solutions(source: str, where: str = 'cell') -> str:
    """One cell's source with every solution region replaced (see the module docstring)."""
    out: list[str] = []
    begin_line = None
    for number, line in enumerate(source.split('\n'), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if begin_line is not None:
                raise LabError(f"{where}: '{BEGIN}' on line {number} inside the region opened on "
                               f"line {begin_line}; close it with '{END}' first")
            begin_line = number
            indent = line[:len(line) - len(line.lstrip())]
            out.append(indent + STUB)
            continue
        if stripped == END:
            if begin_line is None:
                raise LabError(f"{where}: '{END}' on line {number} without a '{BEGIN}' before it")
            begin_line = None
            continue
        if begin_line is not None:
            continue
        code, _, comment = line.partition('#')
        if comment.strip() == INLINE[2:] and code.strip():
            target = _ASSIGNMENT.match(code)
            indent = line[:len(line) - len(line.lstrip())]
            out.append(f"{target.group(1)} = ..." if target else f"{indent}...")
            continue
        out.append(line)
    if begin_line is not None:
        raise LabError(f"{where}: '{BEGIN}' on line {begin_line} is never closed by '{END}'")
    return '\n'.join(out)


def student_version(nb: Any, name: str = 'notebook') -> Any:
    """A copy of ``nb`` with solutions removed, outputs and execution counts cleared."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        tags, before = cell.get('metadata', {}).get('tags', []), cell_source(cell)
        if SOLUTION_TAG in tags:
            cell.source = ''
        elif cell.cell_type == 'code':
            cell.source = strip_solutions(cell_source(cell), f"{name}, cell {index}")
        if cell.cell_type == 'code' and cell.source != before:
            unfold(cell)        # the learner's own cell to write in: never folded
        if cell.cell_type == 'code':
            cell.outputs, cell.execution_count = [], None
    return nb


def unfold(cell: Any) -> None:
    """Show a cell's input: drop the folded-answer flag (``jupyter.source_hidden``)."""
    jupyter = cell.get('metadata', {}).get('jupyter', {})
    jupyter.pop('source_hidden', None)
    if not jupyter:
        cell.get('metadata', {}).pop('jupyter', None)


def has_solutions(nb: Any) -> bool:
    """Whether ``nb`` has any region the student version removes."""
    return any(SOLUTION_TAG in c.get('metadata', {}).get('tags', []) or BEGIN in cell_source(c)
               or re.search(r'#\s*SOLUTION\s*$', cell_source(c), re.M) for c in nb.cells)


def read_notebook(path: str | os.PathLike) -> tuple[Any, str | None]:
    """(the notebook, None) or (None, why it cannot be read) - never an exception."""
    nbformat = _nbformat()
    try:
        text = Path(path).read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as e:
        return None, _("cannot be read: {error}").format(error=e)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        return None, _("is not valid JSON (line {line}, column {column}: {error}); truncated?").format(
            line=e.lineno, column=e.colno, error=e.msg)
    if not isinstance(raw, dict) or 'cells' not in raw:
        return None, _("is JSON but not a notebook (no 'cells')")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as e:
        first = str(e).strip().split('\n')[0]
        return None, _("is not a valid notebook: {error}").format(error=first[:200])
    return nb, None


def set_notebook_language(nb: Any, lang: str) -> Any:
    """``nb`` with its lab's language recorded in its metadata (``{"d2l_optim": {"language": "ja"}}``)."""
    nb.metadata.setdefault(METADATA_KEY, {})['language'] = lang
    return nb


def notebook_language(nb: Any) -> str | None:
    """The language recorded by :func:`set_notebook_language`, or None (none, or not one we know)."""
    meta = nb.get('metadata', {}).get(METADATA_KEY, {}) if nb is not None else {}
    lang = meta.get('language') if isinstance(meta, dict) else None
    return known_language(lang) if isinstance(lang, str) else None


def inject_backend(nb: Any, backend: str | None) -> Any:
    """``BACKEND = "<backend>"`` appended to the cell tagged ``parameters`` (papermill's
    convention), or put before the first code cell; no cell is added, so cell numbers
    in the grader's reasons are the submission's own."""
    if not backend:
        return nb
    line = f'BACKEND = {backend!r}  # set by d2l-optim lab'
    code = [c for c in nb.cells if c.cell_type == 'code']
    tagged = [c for c in code if 'parameters' in c.get('metadata', {}).get('tags', [])]
    if tagged:
        tagged[0].source = cell_source(tagged[0]).rstrip('\n') + '\n' + line
    elif code:
        code[0].source = line + '\n' + cell_source(code[0])
    return nb


def find_notebooks(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Every ``.ipynb`` named or under a named folder (checkpoints skipped), in order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob('*.ipynb') if '.ipynb_checkpoints' not in q.parts))
        elif p.exists():
            found.append(p)
        else:
            raise ValueError(f"submission {str(p)!r} does not exist")
    return found


def feedback_name(path: Path, root: Path | None) -> str:
    """A file name unique per submission: its path under ``root`` with '/' as '__'."""
    try:
        rel = path.resolve().relative_to(root.resolve()) if root else Path(path.name)
    except ValueError:
        rel = Path(path.name)
    parts = rel.with_suffix('').parts
    stem = '__'.join(parts)
    clean = re.sub(r'[^\w.+-]', '_', stem)
    if clean != stem or any('__' in p or p.startswith('_') or p.endswith('_') for p in parts):
        # 'a__b/x' and 'a/b__x' would read alike: such names carry a digest of the path
        clean += '-' + hashlib.sha1(rel.as_posix().encode()).hexdigest()[:8]
    return clean + '.html'
