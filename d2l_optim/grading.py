"""``lab grade`` for one submission: run it where it cannot reach the grade, judge it here.

:func:`grade_notebook` reads the notebook once, copies it into a fresh temporary
folder, starts the submission's own process there (:mod:`d2l_optim.lab_worker`,
sandboxed with bubblewrap when installed, see :mod:`d2l_optim.sandbox`) with a
scrubbed environment, and sends it the code cells, in order, through the last one
calling ``check(``. Right after a cell that calls ``check(fn, 'rule', ...)`` ran,
the judge runs :func:`d2l_optim.check` *in the grader's process* on a stand-in for
``fn`` (:func:`d2l_optim.lab_judge.remote_function`): the learner's function only
receives arguments and hands back numbers. What the notebook prints, displays or
logs is never read, so forged output, a rebound ``d2l_optim`` function or a log
line change nothing. When the submission's grading ends its process is ended with
every process it started (bwrap's process namespace, or its session and the
grader as child subreaper).
"""
from __future__ import annotations

import ast
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import i18n
from .i18n import N_, gettext as _
from .lab import cell_source, inject_backend, notebook_language, read_notebook
from .lab_formats import call_name, check_calls
from .lab_judge import SubmissionGone, SubmissionProcess, remote_function
from .sandbox import bwrap, bwrap_command, scrubbed_env, seed_matplotlib_cache

#: why the grader leaves the cells after the last check call unrun
SKIPPED = N_('not run: it comes after cell {cell}, the last cell calling check, so it cannot change a grade')
#: the reason of a submission's one row when it calls check nowhere
NO_CHECK = N_('no d2l.check(...) call found in the notebook')
#: seconds the worker gets to start (Python, IPython, NumPy) and, past a timeout, to stop by itself
START_SECONDS, GRACE_SECONDS = 120, 3
#: check's arguments the judge takes from the call, when written as literals
LITERAL_OPTIONS = ('steps', 'seed', 'hyperparams', 'form')


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
    """A submission after grading: its rows, and the notebook as the grader read it."""

    path: Path
    rows: list[CheckRow]
    nb: Any = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    #: the index of the last cell run (the last one calling check), when cells after it were skipped
    stopped_after: int | None = None
    sandboxed: bool = False
    #: the language of the check messages and of the feedback page (None: d2l_optim.i18n's choice)
    lang: str | None = None


@dataclass
class Setting:
    """How submissions run: sandboxed or not, what they may read, what they must not see."""

    sandbox: bool
    data_dir: Path | None = None
    hide: list[Path] = field(default_factory=list)


def default_setting(hide: list[Path] = (), sandbox: str = 'auto') -> Setting:
    """bwrap when installed (``sandbox='auto'``), required (``'bwrap'``) or not used (``'none'``)."""
    from .data import find_local
    found = find_local('airfoil')
    use = sandbox == 'bwrap' or (sandbox == 'auto' and bwrap() is not None)
    if sandbox == 'bwrap' and bwrap() is None:
        raise ValueError("--sandbox bwrap: bubblewrap is not installed (apt-get install bubblewrap)")
    return Setting(use, found.parent if found else None, [Path(p) for p in hide])


def _calls(nb: Any) -> dict[int, list[ast.Call]]:
    out = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == 'code':
            try:
                found = check_calls(cell_source(cell))
            except Exception:       # not Python: the worker will say so when it runs
                found = []
            if found:
                out[index] = found
    return out


def _options(call: ast.Call) -> tuple[dict, str]:
    """check's keyword options written as literals, and a problem with the others."""
    options: dict = {}
    for k in call.keywords:
        if k.arg in LITERAL_OPTIONS:
            try:
                options[k.arg] = ast.literal_eval(k.value)
            except ValueError:
                return {}, _("the grader needs {option}= written as a literal, not {code}").format(
                    option=k.arg, code=ast.unparse(k.value))
    for position, key in ((2, 'steps'), (3, 'seed')):       # d2l.check(fn, rule, steps, seed)
        if len(call.args) > position:
            try:
                options[key] = ast.literal_eval(call.args[position])
            except ValueError:
                return {}, _("the grader needs {option} written as a literal").format(option=key)
    return options, ''


def _judge(sub: SubmissionProcess, call: ast.Call, label: str, index: int, timeout: float,
           cell_error: str) -> CheckRow:
    from .checker import check
    fn_name, rule = call_name(call)
    row = CheckRow(label, rule, cell=index, fn=fn_name)
    if rule == '?':
        row.reason = _("the grader needs the rule written as a string: check(fn, 'rmsprop')")
        return row
    options, problem = _options(call)
    f_grad = next((k.value for k in call.keywords if k.arg == 'f_grad'), None)
    if problem:
        row.reason = problem
        return row
    info = sub.request({'op': 'describe', 'name': fn_name}, timeout + GRACE_SECONDS)
    if not info.get('found'):
        row.reason = cell_error or str(info.get('error', _('{name} is not defined').format(name=fn_name)))
        return row
    fn = remote_function(sub, fn_name, info, timeout)
    if f_grad is not None:
        grad_name = ast.unparse(f_grad)
        grad_info = sub.request({'op': 'describe', 'name': grad_name}, timeout + GRACE_SECONDS)
        if not grad_info.get('found'):
            row.reason = cell_error or str(grad_info.get('error'))
            return row
        options['f_grad'] = remote_function(sub, grad_name, grad_info, timeout)
    try:
        result = check(fn, rule, 'numpy', **options)
    except ValueError as e:          # an unknown rule, a bad option
        row.reason = _("check refused the call: {error}").format(error=e)
        return row
    row.passed, row.mistake, row.message = result.passed, result.mistake or '', result.message
    row.first_bad_step = '' if result.first_bad_step is None else result.first_bad_step
    return row


def _worker_argv() -> list[str]:
    return [sys.executable, '-I', '-m', 'd2l_optim.lab_worker']


def grade_notebook(path: str | os.PathLike, timeout: int = 60, backend: str | None = 'numpy',
                   label: str | None = None, *, setting: Setting | None = None,
                   timeout_for: Callable[[int], int] | None = None, lang: str | None = None) -> Graded:
    """Grade one submission; a row per check call (or one row saying why there is none).

    The check messages are in ``lang`` if given, else in the language ``lab build --lang``
    recorded in the notebook, else in :mod:`d2l_optim.i18n`'s (``$D2L_OPTIM_LANG``, the locale)."""
    path = Path(path)
    label = label or str(path)
    started = time.perf_counter()
    setting = setting or default_setting()
    with i18n.language(lang) as chosen:
        nb, problem = read_notebook(path)
        if nb is None:
            return Graded(path, [CheckRow(label, '', reason=_("the file {problem}").format(problem=problem))],
                          None, time.perf_counter() - started, sandboxed=setting.sandbox, lang=chosen)
    with i18n.language(lang or notebook_language(nb)) as chosen:
        graded = _grade(nb, path, label, started, timeout, backend, setting, timeout_for)
    graded.lang = chosen
    return graded


def _grade(nb: Any, path: Path, label: str, started: float, timeout: int, backend: str | None,
           setting: Setting, timeout_for: Callable[[int], int] | None) -> Graded:
    nb = inject_backend(nb, backend)
    calls = _calls(nb)
    upto = max(calls) if calls else len(nb.cells) - 1
    rows: list[CheckRow] = []
    problems: list[str] = []
    errors: dict[int, str] = {}
    stop = ''
    with tempfile.TemporaryDirectory(prefix='d2l-lab-') as tmp:
        work, home = Path(tmp) / 'work', Path(tmp) / 'home'
        work.mkdir()
        home.mkdir()
        shutil.copyfile(path, work / path.name)      # its own copy: the original is never mounted
        seed_matplotlib_cache(home)
        argv = _worker_argv()
        if setting.sandbox:
            readonly = [setting.data_dir] if setting.data_dir else []
            argv = bwrap_command(argv, Path(tmp), readonly, setting.hide + [path.parent])
        sub = SubmissionProcess(argv, scrubbed_env(home, setting.data_dir), work, Path(tmp) / 'log')
        try:
            ready = sub.receive(time.monotonic() + START_SECONDS)
            if ready.get('op') != 'ready':
                raise SubmissionGone('it did not start')
        except SubmissionGone as e:
            why = _("the notebook's process could not start ({error}): {log}").format(
                error=e, log=_log_tail(Path(tmp) / 'log'))
            stop = _("not run: {why}").format(why=why)
            problems.append(stop)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != 'code':
                continue
            if index > upto:
                cell.metadata['lab_skipped'] = _(SKIPPED).format(cell=upto)
                continue
            if stop:
                cell.metadata['lab_not_run'] = stop
                _unreached(rows, calls.get(index, []), label, index, stop, errors)
                continue
            limit = timeout_for(index) if timeout_for else timeout
            try:
                done = sub.request({'op': 'cell', 'index': index, 'source': cell_source(cell),
                                    'timeout': limit}, limit + GRACE_SECONDS)
                error = str(done.get('error') or '')
                if error.startswith('CellTimeout'):
                    note = _("ran past the {limit} s timeout (an endless loop?) and was interrupted").format(
                        limit=limit)
                    problems.append(_("cell {cell} {note}").format(cell=index, note=note))
                    error = _("Timeout: {note}").format(note=note)
                if error:
                    errors[index] = error
                    cell.metadata['lab_error'] = error
                for call in calls.get(index, []):
                    rows.append(_judge(sub, call, label, index, limit, error or _earlier(errors, index)))
            except SubmissionGone as e:
                hung = 'answer in time' in str(e)
                why = (_("the notebook did not stop after cell {cell} ran past the {limit} s "
                         "timeout, and was ended").format(cell=index, limit=limit) if hung else
                       _("the notebook's process died in cell {cell} ({error})").format(cell=index, error=e))
                stop = _("not run: {why}").format(why=why)
                problems.append(why)
                cell.metadata['lab_error'] = stop
                done_here = sum(1 for r in rows if r.cell == index)
                _unreached(rows, calls.get(index, [])[done_here:], label, index, stop, errors)
        sub.stop(grace=2)
    for row in rows:        # a timeout that did not stop the notebook still shows in its rows
        if problems and not row.reason:
            row.reason = '; '.join(problems)
    if not rows:
        why = problems[0] if problems else _(NO_CHECK)
        rows = [CheckRow(label, '', reason=why)]
    _number(rows)
    skips = bool(calls) and any(c.cell_type == 'code' for c in nb.cells[upto + 1:])
    return Graded(path, rows, nb, time.perf_counter() - started, problems,
                  upto if skips else None, setting.sandbox)


def _unreached(rows, calls, label, index, why, errors) -> None:
    for call in calls:
        fn, rule = call_name(call)
        rows.append(CheckRow(label, rule, reason=why, cell=index, fn=fn))


def _earlier(errors: dict[int, str], index: int) -> str:
    before = [i for i in errors if i < index]
    return _("cell {cell} failed first: {error}").format(cell=before[-1], error=errors[before[-1]]) if before else ''


def _number(rows: list[CheckRow]) -> None:
    """A rule checked twice gets ``adam``, ``adam#2``."""
    seen: dict[str, int] = {}
    for row in rows:
        if row.check:
            seen[row.check] = seen.get(row.check, 0) + 1
            if seen[row.check] > 1:
                row.check = f"{row.check}#{seen[row.check]}"


def _log_tail(log: Path) -> str:
    try:
        lines = log.read_text(errors='replace').strip().splitlines()
    except OSError:
        return ''
    return lines[-1][:200] if lines else ''
