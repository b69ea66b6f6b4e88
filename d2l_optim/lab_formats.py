"""Source notebooks for nbgrader and otter-grader, made from the section notebooks.

Both tools need more than the solution markers: nbgrader wants metadata on every
cell it treats (an answer cell is an *autograded answer*, a check is a locked
*autograder test* with points), otter-assign wants raw cells that open and close
each question, its solution and its tests. :func:`nbgrader_notebook` and
:func:`otter_notebook` add exactly that to a copy of a section notebook:

* a cell with a solution region (``# BEGIN SOLUTION`` ... ``# END SOLUTION``, a line
  ending in ``# SOLUTION``, or the ``solution`` tag) is the answer;
* a cell calling ``check(`` is the test: each call gets ``strict=True``, so a
  rule that does not pass raises ``AssertionError`` with the check's message and
  the tool's test fails showing the named mistake. A cell holding both is split
  before its first statement calling check.

Ids are made from the names in the cells (``check-my_rmsprop``,
``answer-my_rmsprop``), so building twice gives the same ids. A check's points are
``points`` unless its cell says otherwise in a ``# points: 2`` comment.
"""
from __future__ import annotations

import ast
import copy
import re
from typing import Any

from .lab import BEGIN, END, INLINE, SOLUTION_TAG, LabError, cell_source, unfold

NBGRADER_SCHEMA = 3
_POINTS = re.compile(r'#\s*points:\s*([0-9]+(?:\.[0-9]+)?)\s*$', re.M)
_DEFINED = re.compile(r'^\s*(?:def|class)\s+(\w+)|^(\w+)\s*=', re.M)
_INLINE = re.compile(r'#\s*SOLUTION\s*$')


def check_calls(source: str, where: str = 'cell') -> list[ast.Call]:
    """The ``check(...)`` / ``x.check(...)`` calls in one cell's code (IPython magics ignored)."""
    code = '\n'.join('' if line.lstrip().startswith(('%', '!')) else line
                     for line in source.split('\n'))
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise LabError(f"{where}: not valid Python (line {e.lineno}: {e.msg})") from None
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        isinstance(node.func, ast.Name) and node.func.id == 'check'
        or isinstance(node.func, ast.Attribute) and node.func.attr == 'check')]
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset))


def call_name(call: ast.Call) -> tuple[str, str]:
    """(the checked function's name, the rule's name) of a check call, '?' when not literal."""
    fn = ast.unparse(call.args[0]) if call.args else '?'
    rule = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == 'rule'), None)
    return fn, rule.value if isinstance(rule, ast.Constant) and isinstance(rule.value, str) else '?'


def strict_source(source: str, where: str = 'cell') -> str:
    """``source`` with ``strict=True`` added to every check call that does not set ``strict``."""
    lines = source.split('\n')
    for call in reversed(check_calls(source, where)):
        if any(k.arg == 'strict' for k in call.keywords):
            continue
        row, col = call.end_lineno - 1, call.end_col_offset - 1      # the closing parenthesis
        before = '\n'.join(lines[:row] + [lines[row][:col]]).rstrip()
        sep = '' if before.endswith('(') else ' ' if before.endswith(',') else ', '
        lines[row] = lines[row][:col] + f"{sep}strict=True" + lines[row][col:]
    return '\n'.join(lines)


def has_solution(cell: Any) -> bool:
    src = cell_source(cell)
    return (SOLUTION_TAG in cell.get('metadata', {}).get('tags', []) or BEGIN in src
            or any(_INLINE.search(line) for line in src.split('\n')))


def split_answers(nb: Any, name: str = 'notebook') -> Any:
    """``nb`` with every code cell that holds both an answer and a check call split in two:
    the lines before the first top-level statement calling check, and the rest (the test)."""
    import nbformat
    cells = []
    for index, cell in enumerate(nb.cells):
        src = cell_source(cell)
        if cell.cell_type != 'code' or not has_solution(cell) or not check_calls(src):
            cells.append(cell)
            continue
        where = f"{name}, cell {index}"
        body = ast.parse('\n'.join('' if l.lstrip().startswith(('%', '!')) else l
                                   for l in src.split('\n'))).body
        first = next(stmt for stmt in body if check_calls(ast.unparse(stmt)))
        lines = src.split('\n')
        answer, test = '\n'.join(lines[:first.lineno - 1]).rstrip(), '\n'.join(lines[first.lineno - 1:])
        if BEGIN in test or any(_INLINE.search(line) for line in test.split('\n')):
            raise LabError(f"{where}: a solution region after the check call; put the answer "
                           f"before the check, or the check in a cell of its own")
        cell.source = answer
        cells += [cell, nbformat.v4.new_code_cell(test)]
    nb.cells = cells
    return nb


def _points(source: str, default: float) -> float:
    found = _POINTS.search(source)
    return float(found.group(1)) if found else default


def _unique(name: str, used: set[str]) -> str:
    out, k = name, 1
    while out in used:
        k += 1
        out = f"{name}-{k}"
    used.add(out)
    return out


def _answer_name(source: str) -> str:
    found = _DEFINED.search(source)
    return (found.group(1) or found.group(2)) if found else 'cell'


def regions_only(source: str, whole: bool, begin: str = BEGIN, end: str = END) -> str:
    """``source`` with every solution marked by regions only: each line ending in
    ``# SOLUTION`` becomes a one-line region, and ``whole`` wraps the whole cell."""
    if whole and begin not in source:
        return f"{begin}\n{source}\n{end}"
    out = []
    for line in source.split('\n'):
        if _INLINE.search(line) and line.strip() != INLINE:
            indent = line[:len(line) - len(line.lstrip())]
            out += [indent + begin, _INLINE.sub('', line).rstrip(), indent + end]
        else:
            out.append(line)
    return '\n'.join(out)


# ---------------------------------------------------------------- nbgrader

def _nbgrader_meta(grade_id: str, *, grade: bool, solution: bool, locked: bool,
                   points: float | None = None) -> dict:
    meta = {'grade': grade, 'grade_id': grade_id, 'locked': locked,
            'schema_version': NBGRADER_SCHEMA, 'solution': solution, 'task': False}
    if grade:
        meta['points'] = points
    return meta


def nbgrader_notebook(nb: Any, name: str = 'notebook', points: float = 1) -> Any:
    """A copy of ``nb`` that ``nbgrader generate_assignment`` takes as its source.

    Answer cells become autograded answers (a markdown answer becomes a manually
    graded one worth 0 points, so it is cleared for students without changing the
    score), check cells locked autograder tests worth ``points`` each check.
    """
    nb = split_answers(copy.deepcopy(nb), name)
    used: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        src = cell_source(cell)
        tagged = SOLUTION_TAG in cell.get('metadata', {}).get('tags', [])
        if cell.cell_type == 'markdown' and tagged:
            cell.metadata['nbgrader'] = _nbgrader_meta(_unique(f'answer-text-{index}', used),
                                                       grade=True, solution=True, locked=False,
                                                       points=0)
        elif cell.cell_type != 'code':
            continue
        elif has_solution(cell):     # (split_answers moved any check call to a cell of its own)
            cell.source = regions_only(src, tagged)
            unfold(cell)         # the student writes here: nbgrader releases it as is
            cell.metadata['nbgrader'] = _nbgrader_meta(
                _unique(f'answer-{_answer_name(src)}', used), grade=False, solution=True, locked=False)
        else:
            calls = check_calls(src, where)
            if not calls:
                continue
            fn, _ = call_name(calls[0])
            cell.source = strict_source(src, where)
            cell.metadata['nbgrader'] = _nbgrader_meta(
                _unique(f'check-{fn.split(".")[-1]}', used), grade=True, solution=False, locked=True,
                points=_points(src, points) * len(calls))
    return nb


NBGRADER_CONFIG = '''# nbgrader's configuration for this course, written by `d2l-optim lab build --format nbgrader`.
# Run nbgrader's commands from this folder, e.g.
#   nbgrader generate_assignment {assignment}
#   nbgrader autograde {assignment}
#   nbgrader generate_feedback {assignment}
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = 'd2l-optim-lab'
# a check runs an airfoil epoch; the section's other cells train, plot and sweep
c.ExecutePreprocessor.timeout = {timeout}
'''


# ---------------------------------------------------------------- otter

def _raw(text: str) -> Any:
    import nbformat
    return nbformat.v4.new_raw_cell(text)


def otter_notebook(nb: Any, name: str = 'notebook', points: float = 1,
                   files: tuple[str, ...] = (), requirements: str | None = 'requirements.txt') -> Any:
    """A copy of ``nb`` in otter-assign's notebook format (v1).

    Each check cell closes a question: the answer cells since the previous check are
    its solution, and each check call is one test ``_ = d2l.check(..., strict=True)``
    (no output: otter compares a test's output with the solution's). A check cell
    holding more than check calls is kept, after the question. Answer cells that
    no check follows (written answers) become manually graded questions.
    """
    import nbformat
    nb = split_answers(copy.deepcopy(nb), name)
    config = ['# ASSIGNMENT CONFIG', f'name: {_yaml_name(name)}', 'export_cell: false']
    if requirements:
        config.append(f'requirements: {requirements}')
    if files:
        config += ['files:'] + [f'    - {f}' for f in files]
    cells: list[Any] = [_raw('\n'.join(config))]
    if files:
        cells.append(nbformat.v4.new_code_cell(
            "import os  # the data file otter copies next to this notebook, unless the machine has one\n"
            "os.environ.setdefault('D2L_OPTIM_DATA_DIR', os.getcwd())"))
    pending: list[Any] = []          # answer cells waiting for their check
    used: set[str] = set()

    def question(qname: str, qpoints: float, solution: list[Any], tests: list[str]) -> list[Any]:
        head = ['# BEGIN QUESTION', f'name: {_unique(qname, used)}', f'points: {qpoints:g}']
        out = [_raw('\n'.join(head + ([] if tests else ['manual: true'])))]
        if solution:
            out += [_raw('# BEGIN SOLUTION'), *solution, _raw('# END SOLUTION')]
        if tests:
            out += [_raw('# BEGIN TESTS'), *[nbformat.v4.new_code_cell(t) for t in tests],
                    _raw('# END TESTS')]
        return out + [_raw('# END QUESTION')]

    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        src = cell_source(cell)
        if has_solution(cell):       # (split_answers moved any check call to a cell of its own)
            if cell.cell_type == 'code':
                tagged = SOLUTION_TAG in cell.get('metadata', {}).get('tags', [])
                cell.source = regions_only(src, tagged)
                unfold(cell)
                pending.append(cell)
            else:     # a written answer: a manually graded question of its own, no points
                cells.extend(question(f'written-{index}', 0, [cell], []))
            continue
        calls = check_calls(src, where) if cell.cell_type == 'code' else []
        if not calls:
            cells.append(cell)
            continue
        fn = call_name(calls[0])[0].split('.')[-1]
        tests = [f"_ = {ast.unparse(_strict_call(c))}" for c in calls]
        cells.extend(question(f'check-{fn}', _points(src, points) * len(calls), pending, tests))
        pending = []
        if not _only_checks(src):
            cells.append(cell)
    for cell in pending:          # answer code no check follows
        cells.extend(question(f'answer-{_answer_name(cell_source(cell))}', 0, [cell], []))
    nb.cells = cells
    # otter reads the language from the kernelspec, which a notebook saved without one lacks
    nb.metadata.setdefault('kernelspec', {'name': 'python3', 'display_name': 'Python 3',
                                          'language': 'python'})
    return nb


def _strict_call(call: ast.Call) -> ast.Call:
    call = copy.deepcopy(call)
    if not any(k.arg == 'strict' for k in call.keywords):
        call.keywords.append(ast.keyword(arg='strict', value=ast.Constant(True)))
    return call


def _only_checks(source: str) -> bool:
    code = '\n'.join(l for l in source.split('\n') if not l.lstrip().startswith(('%', '!')))
    body = ast.parse(code).body
    return all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and check_calls(ast.unparse(s))
               for s in body)


def _yaml_name(name: str) -> str:
    return re.sub(r'[^\w-]', '-', name)
