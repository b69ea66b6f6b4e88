"""lab build / lab grade on small fixture notebooks (NumPy backend): solutions pass every check,
student versions none; loops, crashes and broken files get their rows; Ctrl-C keeps the rows."""
import csv
import html
import json
import os

import pytest

nbformat = pytest.importorskip('nbformat')
pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')

from d2l_optim import grading, lab  # noqa: E402
from d2l_optim.feedback import feedback_html  # noqa: E402
from d2l_optim.cli import main  # noqa: E402

from lab_fixtures import ADAM_CELL, MOMENTUM, RMSPROP, make_sections, notebook as _notebook  # noqa: E402


@pytest.fixture
def sections(tmp_path):
    return make_sections(tmp_path / 'notebooks')


def _rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_strip_solutions_block_inline_and_whole_cell():
    assert lab.strip_solutions(RMSPROP) == (
        'def my_rmsprop(p, g, state, hp, t, xp):\n    raise NotImplementedError("your code here")')
    assert lab.strip_solutions(ADAM_CELL) == 'raise NotImplementedError("your code here")'
    assert lab.strip_solutions(MOMENTUM).split('\n')[2] == '        beta = ...'
    assert lab.strip_solutions('x = 1\nprint(x)  # SOLUTION') == 'x = 1\n...'
    with pytest.raises(lab.LabError, match="never closed"):
        lab.strip_solutions('# BEGIN SOLUTION\nx = 1')
    with pytest.raises(lab.LabError, match="without a '# BEGIN SOLUTION'"):
        lab.strip_solutions('x = 1\n# END SOLUTION')


def test_build_writes_solution_student_and_readme(sections, tmp_path):
    out = tmp_path / 'lab'
    assert main(['lab', 'build', '--notebooks', str(sections), '--out', str(out),
                 '--sections', '11.8']) == 0
    assert sorted(p.name for p in (out / 'student').iterdir()) == ['11.8-rmsprop.ipynb']
    assert (out / 'solution' / '11.8-rmsprop.ipynb').read_text() == \
        (sections / '11.8-rmsprop.ipynb').read_text()
    student = nbformat.read(out / 'student' / '11.8-rmsprop.ipynb', 4)
    sources = [c.source for c in student.cells]
    assert sources[3] == 'def my_rmsprop(p, g, state, hp, t, xp):\n    raise NotImplementedError("your code here")'
    assert sources[5] == 'raise NotImplementedError("your code here")'
    assert sources[-1] == ''                                   # the cell tagged solution
    assert "d2l.check(my_rmsprop, 'rmsprop')" in sources[4]
    readme = (out / 'README.md').read_text()
    assert 'd2l-optim lab grade submissions/ --out grades/' in readme and '# Lab: 11.8' in readme
    assert main(['lab', 'build', '--notebooks', str(sections), '--out', str(out),
                 '--sections', '11.99']) == 2


def test_build_validate_then_grade_solution_and_student(sections, tmp_path, capsys):
    out = tmp_path / 'lab'
    assert main(['lab', 'build', '--notebooks', str(sections), '--out', str(out), '--validate']) == 0
    assert 'lab valid' in capsys.readouterr().out
    assert main(['lab', 'grade', str(out / 'solution'), '--out', str(tmp_path / 'g1')]) == 0
    rows = _rows(tmp_path / 'g1' / 'grades.csv')
    assert [(os.path.basename(r['file']), r['check'], r['passed']) for r in rows] == [
        ('11.6-momentum.ipynb', 'momentum', 'True'),
        ('11.8-rmsprop.ipynb', 'rmsprop', 'True'),
        ('11.8-rmsprop.ipynb', 'adam', 'True')]
    assert main(['lab', 'grade', str(out / 'student'), '--out', str(tmp_path / 'g2'),
                 '--jobs', '2']) == 0          # rows still in submission order
    rows = _rows(tmp_path / 'g2' / 'grades.csv')
    assert [(r['check'], r['passed']) for r in rows] == [
        ('momentum', 'False'), ('rmsprop', 'False'), ('adam', 'False')]
    by_check = {r['check']: r for r in rows}
    assert 'NotImplementedError: your code here' in by_check['rmsprop']['message']
    assert by_check['rmsprop']['first_bad_step'] == '1'
    # my_adam was never defined: the check cell raised, its row says why
    assert by_check['adam']['reason'].startswith("NameError: name 'my_adam' is not defined")
    assert "TypeError" in by_check['momentum']['message']      # beta = ... is not a number
    page = html.unescape((tmp_path / 'g2' / 'feedback' / '11.8-rmsprop.html').read_text())
    assert 'raise NotImplementedError("your code here")' in page
    assert 'stopped at step 1' in page and '0 of 2 checks passed' in page


def test_validate_fails_naming_notebook_and_check(tmp_path, capsys):
    src = tmp_path / 'notebooks'
    wrong = RMSPROP.replace('1e-6)', '1e-8)')
    _notebook(src / '11.8-rmsprop.ipynb', wrong, "d2l.check(my_rmsprop, 'rmsprop')",
              "d2l.check(d2l.adam, 'adam')")          # no solution region: students pass it
    assert main(['lab', 'build', '--notebooks', str(src), '--out', str(tmp_path / 'lab'),
                 '--validate']) == 1
    err = capsys.readouterr().err
    assert 'solution/11.8-rmsprop.ipynb: check rmsprop does not pass: Your my_rmsprop uses eps = 1e-08' in err
    assert 'student/11.8-rmsprop.ipynb: check adam passes without the solution' in err


def test_grade_survives_loops_crashes_and_broken_files(sections, tmp_path, monkeypatch):
    real = grading.grade_notebook

    def short_from_cell_3(path, timeout, *args, **kwargs):
        # the loops are inserted at cell 3: from there on cells get the 3 s of --timeout, while
        # the import cell before them keeps 60 s however loaded the machine (a CI runner) is
        return real(path, timeout, *args, timeout_for=lambda i: timeout if i >= 3 else 60, **kwargs)
    monkeypatch.setattr(grading, 'grade_notebook', short_from_cell_3)
    subs = tmp_path / 'subs'
    src = sections / '11.6-momentum.ipynb'
    nb = nbformat.read(src, 4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('while True:\n    pass'))
    (subs / 'loop').mkdir(parents=True)
    nbformat.write(nb, subs / 'loop' / src.name)
    nb = nbformat.read(src, 4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        'import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except BaseException:\n        pass'))
    (subs / 'stubborn').mkdir()
    nbformat.write(nb, subs / 'stubborn' / src.name)
    nb = nbformat.read(src, 4)
    nb.cells.insert(4, nbformat.v4.new_code_cell('import os\nos._exit(1)'))
    (subs / 'crash').mkdir()
    nbformat.write(nb, subs / 'crash' / src.name)
    (subs / 'truncated').mkdir()
    (subs / 'truncated' / src.name).write_text(src.read_text()[:500])
    (subs / 'notjson').mkdir()
    (subs / 'notjson' / src.name).write_text(json.dumps({'hello': 'world'}))
    assert main(['lab', 'grade', str(subs), '--out', str(tmp_path / 'g'), '--timeout', '3']) == 0
    rows = {r['file'].split(os.sep)[-2]: r for r in _rows(tmp_path / 'g' / 'grades.csv')}
    assert sorted(rows) == ['crash', 'loop', 'notjson', 'stubborn', 'truncated']
    # the loop is interrupted after 3 s, the notebook goes on and its check still runs
    assert rows['loop']['passed'] == 'True' and 'ran past the 3 s timeout' in rows['loop']['reason']
    # a loop that swallows every exception is ended with its process after the grace period
    assert rows['stubborn']['passed'] == 'False'
    assert 'did not stop after cell 3 ran past the 3 s timeout' in rows['stubborn']['reason']
    assert rows['crash']['passed'] == 'False'
    assert "the notebook's process died in cell 4" in rows['crash']['reason']
    assert rows['truncated']['check'] == '' and 'is not valid JSON' in rows['truncated']['reason']
    assert "not a notebook (no 'cells')" in rows['notjson']['reason']
    names = sorted(p.name for p in (tmp_path / 'g' / 'feedback').iterdir())
    assert names == [f'{who}__11.6-momentum.html' for who in sorted(rows)]


def test_grading_stops_after_the_last_check_cell(sections, tmp_path):
    nb = nbformat.read(sections / '11.8-rmsprop.ipynb', 4)
    last = max(i for i, c in enumerate(nb.cells) if 'check(' in c.source)
    nb.cells.insert(last + 1, nbformat.v4.new_code_cell("raise RuntimeError('a demonstration')"))
    nb.cells.insert(last + 2, nbformat.v4.new_code_cell('while True:\n    pass'))
    nb.cells.insert(last + 3, nbformat.v4.new_code_cell("d2l.adam = None  # check( in a comment"))
    path = tmp_path / 'sub' / '11.8-rmsprop.ipynb'
    path.parent.mkdir()
    nbformat.write(nb, path)
    graded = grading.grade_notebook(path, 60, 'numpy')
    # had the cells after the check run: a RuntimeError noted and the loop's timeout in every reason
    assert [(r.check, r.passed, r.mistake, r.reason, r.cell) for r in graded.rows] == [
        ('rmsprop', True, '', '', 4), ('adam', True, '', '', last)]
    assert graded.problems == [] and graded.stopped_after == last
    after = graded.nb.cells[last + 1:last + 4]
    assert [c.outputs for c in after] == [[], [], []]
    assert all(f'after cell {last}, the last cell calling check' in c.metadata['lab_skipped'] for c in after)
    assert f'through cell {last}, the last one calling check' in feedback_html(graded)
    # a notebook without any check call runs to the end: the loop's timeout is the row's reason
    calls = {i for i, c in enumerate(nb.cells) if 'check(' in c.source and 'd2l.adam = None' not in c.source}
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in calls]
    loop = next(i for i, c in enumerate(nb.cells) if c.source.startswith('while True'))
    nbformat.write(nb, path)
    graded = grading.grade_notebook(path, 3, 'numpy', timeout_for=lambda i: 3 if i >= loop else 60)
    assert graded.stopped_after is None
    assert 'ran past the 3 s timeout' in ' '.join(graded.problems)
    assert [(r.check, r.reason) for r in graded.rows] == [('', graded.problems[0])]


def test_interrupted_grade_keeps_the_rows_finished(sections, tmp_path, monkeypatch):
    real = grading.grade_notebook
    calls = []

    def grade_then_interrupt(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(grading, 'grade_notebook', grade_then_interrupt)
    out = tmp_path / 'g'
    assert main(['lab', 'grade', str(sections), '--out', str(out)]) == 130
    rows = _rows(out / 'grades.csv')
    assert [(r['check'], r['passed']) for r in rows] == [('momentum', 'True')]
    assert not list(out.rglob('*.part'))


@pytest.mark.parametrize('argv, text', [
    (['lab'], 'say what to do'),
    (['lab', 'grade', 'no/such.ipynb', '--out', 'g'], "submission 'no/such.ipynb' does not exist"),
    (['lab', 'grade', '.', '--out', 'g', '--timeout', '0'], '--timeout must be a positive number'),
    (['lab', 'build', '--out', 'x', '--notebooks', 'nope'], 'no notebook folder at nope'),
])
def test_usage_mistakes_are_one_line_and_exit_2(argv, text, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert text in err and len(err.strip().splitlines()) == 1


def test_student_and_grader_formats_unfold_the_cells_a_student_writes_in():
    """The chapter notebooks fold their answers (issue 20); a lab hands students those cells
    to write in, so every cell whose answer was removed is unfolded, and no other cell."""
    import nbformat
    from pathlib import Path
    from d2l_optim import lab_formats
    path = Path(__file__).resolve().parents[1] / 'notebooks' / '11.8-rmsprop.ipynb'
    nb = nbformat.read(path, as_version=4)
    folded = lambda c: c.metadata.get('jupyter', {}).get('source_hidden', False)  # noqa: E731
    answers = [i for i, c in enumerate(nb.cells) if folded(c)]
    assert answers, 'the 11.8 notebook folds its answer cells'
    student = lab.student_version(nb, '11.8')
    assert not [i for i in answers if folded(student.cells[i])]
    assert all(lab.STUB in student.cells[i].source or student.cells[i].source != nb.cells[i].source
               for i in answers)
    for build in (lab_formats.nbgrader_notebook, lab_formats.otter_notebook):
        built = build(nb, '11.8')
        solutions = [c for c in built.cells if c.cell_type == 'code' and lab.BEGIN in c.source
                     or c.get('metadata', {}).get('nbgrader', {}).get('solution')]
        assert solutions and not any(folded(c) for c in solutions), build.__name__
