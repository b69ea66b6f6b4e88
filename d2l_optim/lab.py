"""Labs on the chapter's notebooks: student versions, headless grading, the teacher's check.

* :func:`student_version` turns a section notebook into the one students get:
  the lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` become
  ``raise NotImplementedError("your code here")`` (at the marker's indentation,
  which is the whole cell when the markers enclose it), a line ending in
  ``# SOLUTION`` keeps only its left-hand side (``eps = ...``), and cells tagged
  ``solution`` are emptied. These are the markers nbgrader and otter-grader take.
* :func:`grade_notebook` executes one submission with nbclient (its own kernel,
  a per-cell timeout) through the last cell that calls ``check(`` (the cells after
  it cannot change a grade and are not run) and collects every
  :func:`d2l_optim.check` result from the
  trace file named by ``$D2L_OPTIM_CHECK_LOG`` (one JSON line per call, with the
  IPython execution count of its cell), matched to the ``check(...)`` calls found
  in the source so that a check that never ran still gets its row and reason.
* :func:`feedback_html` shows each check's message beside the learner's code.

The ``lab`` command (``d2l_optim/commands/lab.py``) wires these to folders.
nbformat, nbclient and ipykernel come with ``pip install "d2l-optim[lab]"``.
"""
from __future__ import annotations

import copy
import html
import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .checker import TRACE_ENV

BEGIN, END, INLINE = '# BEGIN SOLUTION', '# END SOLUTION', '# SOLUTION'
STUB = 'raise NotImplementedError("your code here")'
SOLUTION_TAG = 'solution'
LAB_EXTRA = 'pip install "d2l-optim[lab]"'
#: why the grader leaves the cells after the last check call unrun
SKIPPED = 'not run: it comes after cell {cell}, the last cell calling check, so it cannot change a grade'
#: a call of check in a notebook: check(my_rule, 'rmsprop'), d2l.check(fn, "adam", ...)
_ASSIGNMENT = re.compile(r'^(\s*[\w.\[\], ]+?)\s*[-+*/]?=(?!=)')
_CHECK_CALL = re.compile(r"""\bcheck\(\s*([A-Za-z_][\w.]*)\s*,\s*(?:['"]([\w-]+)['"])?""")


class LabError(ValueError):
    """A notebook that cannot be turned into a lab (unbalanced markers, ...)."""


def _nbformat():
    try:
        import nbformat
    except ImportError as e:
        raise ImportError(f"the lab commands need nbformat and nbclient: {LAB_EXTRA}") from e
    return nbformat


# ---------------------------------------------------------------- student notebooks

def _source(cell: Any) -> str:
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
        tags = cell.get('metadata', {}).get('tags', [])
        if SOLUTION_TAG in tags:
            cell.source = ''
        elif cell.cell_type == 'code':
            cell.source = strip_solutions(_source(cell), f"{name}, cell {index}")
        if cell.cell_type == 'code':
            cell.outputs, cell.execution_count = [], None
    return nb


def has_solutions(nb: Any) -> bool:
    """Whether ``nb`` has any region the student version removes."""
    return any(SOLUTION_TAG in c.get('metadata', {}).get('tags', []) or BEGIN in _source(c)
               or re.search(r'#\s*SOLUTION\s*$', _source(c), re.M) for c in nb.cells)


# ---------------------------------------------------------------- grading

@dataclass
class CheckRow:
    """One row of grades.csv: one check of one submission (or the submission's failure)."""

    file: str
    check: str
    passed: bool = False
    mistake: str = ''
    first_bad_step: int | str = ''
    reason: str = ''
    message: str = ''
    cell: int | str = ''
    fn: str = ''

    CSV_FIELDS = ('file', 'check', 'passed', 'mistake', 'first_bad_step', 'reason', 'cell', 'message')

    def csv(self) -> dict:
        return {k: getattr(self, k) for k in self.CSV_FIELDS}


@dataclass
class Graded:
    """A submission after grading: its rows, and the notebook as executed (None if unreadable)."""

    path: Path
    rows: list[CheckRow]
    nb: Any = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    #: the index of the last cell run (the last one calling check), when cells after it were skipped
    stopped_after: int | None = None


@dataclass
class _Call:
    cell: int
    fn: str
    rule: str


def _calls(nb: Any) -> list[_Call]:
    calls = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != 'code':
            continue
        for line in _source(cell).split('\n'):
            code = line.split('#', 1)[0]
            for m in _CHECK_CALL.finditer(code):
                calls.append(_Call(index, m.group(1), m.group(2) or '?'))
    return calls


def read_notebook(path: str | os.PathLike) -> tuple[Any, str | None]:
    """(the notebook, None) or (None, why it cannot be read) - never an exception."""
    nbformat = _nbformat()
    try:
        text = Path(path).read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as e:
        return None, f"cannot be read: {e}"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        return None, f"is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); truncated?"
    if not isinstance(raw, dict) or 'cells' not in raw:
        return None, "is JSON but not a notebook (no 'cells')"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as e:
        first = str(e).strip().split('\n')[0]
        return None, f"is not a valid notebook: {first[:200]}"
    return nb, None


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
        tagged[0].source = _source(tagged[0]).rstrip('\n') + '\n' + line
    elif code:
        code[0].source = line + '\n' + _source(code[0])
    return nb


def _error_of(cell: Any) -> str:
    for out in cell.get('outputs', []):
        if out.get('output_type') == 'error':
            value = ' '.join(str(out.get('evalue', '')).split())
            return f"{out.get('ename', 'Error')}: {value}"[:300]
    return ''


def execute(nb: Any, workdir: Path, timeout: int, trace: Path, kernel_name: str = 'python3',
            upto: int | None = None, timeout_for: Callable[[int], int] | None = None) -> list[str]:
    """Run the code cells of ``nb`` in place in a fresh kernel; return what went wrong.

    Cells after index ``upto`` (when given) are not run and get ``lab_skipped``.
    A cell that runs past ``timeout`` seconds (``timeout_for(index)`` if given) is
    interrupted and execution goes on; if the next cell also times out (the kernel
    ignores interrupts), or the kernel dies, the remaining cells are marked not run
    and execution stops.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    problems: list[str] = []
    timed_out: list[int] = []
    replies: dict[int, dict] = {}
    seen = [0]

    def on_executed(cell=None, cell_index=None, execute_reply=None, **_):
        replies[cell_index] = (execute_reply or {}).get('content', {})
        _claim(trace, seen, cell)

    client = NotebookClient(
        nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
        interrupt_on_timeout=True, record_timing=False, shutdown_kernel='immediate',
        error_on_timeout={'ename': 'Timeout', 'evalue': f'ran past the {timeout} s timeout',
                          'traceback': []},
        on_cell_executed=on_executed, resources={'metadata': {'path': str(workdir)}})
    env = {**os.environ, TRACE_ENV: str(trace), 'MPLBACKEND': 'Agg'}
    stop = ''
    with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != 'code':
                continue
            if upto is not None and index > upto:
                cell.metadata['lab_skipped'] = SKIPPED.format(cell=upto)
                continue
            if stop:
                cell.metadata['lab_not_run'] = stop
                continue
            limit = timeout_for(index) if timeout_for else timeout
            client.timeout = limit
            client.error_on_timeout = {**client.error_on_timeout,
                                       'evalue': f'ran past the {limit} s timeout'}
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                stop = f"not run: the kernel died in cell {index}"
                cell.metadata['lab_error'] = 'the kernel died (crashed or was killed) in this cell'
                problems.append(f"the kernel died in cell {index}")
                continue
            except CellTimeoutError:
                replies[index] = {'ename': 'Timeout'}
            _claim(trace, seen, cell)
            if replies.get(index, {}).get('ename') == 'Timeout':
                note = f"ran past the {limit} s timeout (an endless loop?) and was interrupted"
                cell.metadata['lab_error'] = note
                problems.append(f"cell {index} {note}")
                if timed_out and timed_out[-1] == index - 1 or len(timed_out) >= 2:
                    stop = f"not run: the kernel did not stop after cell {index} timed out"
                timed_out.append(index)
    return problems


def _claim(trace: Path, seen: list[int], cell: Any) -> None:
    """Give ``cell`` the check results appended to the trace while it ran.

    Cells run one at a time and ``check`` writes its line before the cell ends, so
    the lines new since the previous cell are this cell's; no IPython counter is needed.
    """
    records = _records(trace)
    if len(records) > seen[0]:
        cell.metadata.setdefault('lab_checks', []).extend(records[seen[0]:])
        seen[0] = len(records)


def _records(trace: Path) -> list[dict]:
    if not trace.exists():
        return []
    out = []
    for line in trace.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def grade_notebook(path: str | os.PathLike, timeout: int = 60, backend: str | None = 'numpy',
                   label: str | None = None, *,
                   timeout_for: Callable[[int], int] | None = None) -> Graded:
    """Execute one submission and return a row per check (or one row saying why none ran).

    The notebook runs through the last cell whose source calls ``check(``; the
    demonstrations after it (plots, other backends, exercises) cannot change a row,
    so they are skipped. With no such call every cell runs (a check may still be
    reached some other way). ``timeout_for(cell_index)``, if given, is the seconds
    for that cell instead of ``timeout``.
    """
    path = Path(path)
    label = label or str(path)
    started = time.perf_counter()
    nb, problem = read_notebook(path)
    if nb is None:
        return Graded(path, [CheckRow(label, '', reason=f"the file {problem}")], None,
                      time.perf_counter() - started)
    nb = inject_backend(nb, backend)
    calls = _calls(nb)
    upto = max(call.cell for call in calls) if calls else None     # run through the last check
    skips = upto is not None and any(c.cell_type == 'code' for c in nb.cells[upto + 1:])
    with tempfile.TemporaryDirectory(prefix='d2l-lab-') as tmp:
        trace = Path(tmp) / 'checks.jsonl'
        try:
            problems = execute(nb, path.parent.resolve(), timeout, trace, upto=upto,
                               timeout_for=timeout_for)
        except Exception as e:     # the kernel could not start, or nbclient failed
            problems = [f"could not run: {type(e).__name__}: {' '.join(str(e).split())[:200]}"]
            for cell in nb.cells:
                cell.metadata.setdefault('lab_not_run', problems[0])
        records = _records(trace)
    claimed = sum(len(c.metadata.get('lab_checks', [])) for c in nb.cells)
    rows = _match(label, nb, calls, records[claimed:])
    for row in rows:        # a timeout that did not stop the notebook still shows in its rows
        if problems and not row.reason:
            row.reason = '; '.join(problems)
    if not rows:
        why = problems[0] if problems else 'no d2l.check(...) call found in the notebook'
        rows = [CheckRow(label, '', reason=why)]
    return Graded(path, rows, nb, time.perf_counter() - started, problems,
                  upto if skips else None)


def _match(label: str, nb: Any, calls: list[_Call], records: list[dict]) -> list[CheckRow]:
    """Pair the check calls found in the source with the results the kernel reported."""
    per_cell = {i: list(c.metadata.pop('lab_checks')) for i, c in enumerate(nb.cells)
                if c.metadata.get('lab_checks')}
    unplaced = records       # reported after the last cell the grader saw end (e.g. a dead kernel)
    rows: list[CheckRow] = []
    seen: dict[str, int] = {}

    def name_for(rule: str) -> str:
        seen[rule] = seen.get(rule, 0) + 1
        return rule if seen[rule] == 1 else f"{rule}#{seen[rule]}"

    def from_record(r: dict, cell: int | str) -> CheckRow:
        step = r.get('first_bad_step')
        return CheckRow(label, name_for(r.get('rule', '?')), bool(r.get('passed')),
                        r.get('mistake') or '', '' if step is None else step, '',
                        r.get('message', ''), cell, r.get('fn', ''))

    for call in calls:
        got = per_cell.get(call.cell, [])
        if got:
            rows.append(from_record(got.pop(0), call.cell))
            continue
        cell = nb.cells[call.cell]
        reason = (cell.metadata.get('lab_not_run') or cell.metadata.get('lab_error')
                  or _error_of(cell) or _earlier_error(nb, call.cell)
                  or 'check did not report a result')
        rows.append(CheckRow(label, name_for(call.rule), False, '', '', reason, '', call.cell, call.fn))
    for cell, rest in sorted(per_cell.items(), key=lambda kv: kv[0]):
        rows.extend(from_record(r, cell) for r in rest)
    rows.extend(from_record(r, '') for r in unplaced)
    return rows


def _earlier_error(nb: Any, upto: int) -> str:
    for index in range(upto - 1, -1, -1):
        err = _error_of(nb.cells[index]) or nb.cells[index].metadata.get('lab_error', '')
        if err:
            return f"cell {index} failed first: {err}"
    return ''


# ---------------------------------------------------------------- feedback

_STYLE = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;border-radius:4px}
.pass{border-left:6px solid #2da44e;padding-left:1em;margin:1.5em 0}
.fail{border-left:6px solid #cf222e;padding-left:1em;margin:1.5em 0}
.msg{background:#fff8c5}.pass .msg{background:#dafbe1}"""


def feedback_html(graded: Graded) -> str:
    """A self-contained page: per check, the learner's code, then the check's message."""
    title = html.escape(graded.rows[0].file if graded.rows else str(graded.path))
    n_pass = sum(r.passed for r in graded.rows if r.check)
    n = sum(1 for r in graded.rows if r.check)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{title}</h1>",
             f"<p>{n_pass} of {n} checks passed.</p>"]
    for problem in graded.problems:
        parts.append(f"<p><b>Note:</b> {html.escape(problem)}</p>")
    if graded.stopped_after is not None:
        parts.append(f"<p>Grading ran the notebook through cell {graded.stopped_after}, the last "
                     f"one calling check; the cells after it cannot change a grade and were not run.</p>")
    for row in graded.rows:
        css = 'pass' if row.passed else 'fail'
        head = f"{row.check or 'submission'}: {'passed' if row.passed else 'not passed'}"
        if row.mistake:
            head += f" ({row.mistake})"
        parts.append(f"<div class='{css}'><h2>{html.escape(head)}</h2>")
        for code in _code_for(graded.nb, row):
            parts.append(f"<pre>{html.escape(code)}</pre>")
        text = row.message or row.reason
        parts.append(f"<pre class='msg'>{html.escape(text)}</pre></div>")
    parts.append('</body></html>\n')
    return '\n'.join(parts)


def _code_for(nb: Any, row: CheckRow) -> list[str]:
    """The cell defining the checked function (if found) and the cell calling check."""
    if nb is None:
        return []
    out = []
    fn = row.fn.split('.')[-1] if row.fn else ''
    if fn:
        pattern = re.compile(rf'^\s*def\s+{re.escape(fn)}\s*\(', re.M)
        for cell in nb.cells:
            if cell.cell_type == 'code' and pattern.search(_source(cell)):
                out.append(_source(cell))
                break
    if isinstance(row.cell, int) and row.cell < len(nb.cells):
        src = _source(nb.cells[row.cell])
        if src not in out:
            out.append(src)
    return out


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
    stem = '__'.join(rel.with_suffix('').parts)
    return re.sub(r'[^\w.+-]', '_', stem) + '.html'
