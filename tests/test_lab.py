"""lab build / lab grade on small fixture notebooks (NumPy backend): solutions pass every check,
student versions none; loops, crashes and broken files get their rows; Ctrl-C keeps the rows."""
import csv
import json
import os

import pytest

nbformat = pytest.importorskip('nbformat')
pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')

from d2l_optim import lab  # noqa: E402
from d2l_optim.cli import main  # noqa: E402

RMSPROP = '''def my_rmsprop(p, g, state, hp, t, xp):
    # BEGIN SOLUTION
    (s,) = state
    s = hp['gamma'] * s + (1 - hp['gamma']) * g * g
    return p - hp['lr'] * g / xp.sqrt(s + 1e-6), (s,)
    # END SOLUTION'''

ADAM_CELL = '''# BEGIN SOLUTION
def my_adam(params, grads, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * g * g
        v_hat = v / (1 - beta1 ** hyperparams['t'])
        s_hat = s / (1 - beta2 ** hyperparams['t'])
        p[:] -= hyperparams['lr'] * v_hat / (np.sqrt(s_hat) + eps)
    hyperparams['t'] += 1
# END SOLUTION'''

MOMENTUM = '''def my_momentum(params, grads, states, hyperparams):
    for p, v, g in zip(params, states, grads):
        beta = hyperparams['momentum']  # SOLUTION
        v[:] = beta * v + g
        p[:] -= hyperparams['lr'] * v'''


def _notebook(path, *cells, solution_answer=True):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('BACKEND = "numpy"')
    params.metadata['tags'] = ['parameters']
    nb.cells = [nbformat.v4.new_markdown_cell(f'# {path.stem}'), params,
                nbformat.v4.new_code_cell('import numpy as np\nfrom d2l_optim import load_backend\n'
                                          'd2l = load_backend(BACKEND)')]
    for c in cells:
        nb.cells.append(c if not isinstance(c, str) else nbformat.v4.new_code_cell(c))
    if solution_answer:
        answer = nbformat.v4.new_markdown_cell('The answer: eps inside the root.')
        answer.metadata['tags'] = ['solution']
        nb.cells.append(answer)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def sections(tmp_path):
    src = tmp_path / 'notebooks'
    _notebook(src / '11.8-rmsprop.ipynb', RMSPROP, "d2l.check(my_rmsprop, 'rmsprop')",
              ADAM_CELL, "result = d2l.check(my_adam, 'adam')\nresult")
    _notebook(src / '11.6-momentum.ipynb', MOMENTUM, "print(d2l.check(my_momentum, 'momentum'))")
    return src


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
    page = (tmp_path / 'g2' / 'feedback' / '11.8-rmsprop.html').read_text()
    assert 'raise NotImplementedError(&quot;your code here&quot;)' in page
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
    real = lab.grade_notebook

    def short_from_cell_3(path, timeout, *args, **kwargs):
        # the loops are inserted at cell 3: from there on cells get the 3 s of --timeout, while
        # the import cell before them keeps 60 s however loaded the machine (a CI runner) is
        return real(path, timeout, *args, timeout_for=lambda i: timeout if i >= 3 else 60, **kwargs)
    monkeypatch.setattr(lab, 'grade_notebook', short_from_cell_3)
    subs = tmp_path / 'subs'
    src = sections / '11.6-momentum.ipynb'
    nb = nbformat.read(src, 4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('while True:\n    pass'))
    (subs / 'loop').mkdir(parents=True)
    nbformat.write(nb, subs / 'loop' / src.name)
    nb = nbformat.read(src, 4)
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        'import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass'))
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
    assert rows['stubborn']['passed'] == 'False'
    assert 'did not stop after cell 4 timed out' in rows['stubborn']['reason']   # cells 3 and 4
    assert rows['crash']['passed'] == 'False' and 'the kernel died in cell 4' in rows['crash']['reason']
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
    graded = lab.grade_notebook(path, 60, 'numpy')
    # had the cells after the check run: a RuntimeError noted and the loop's timeout in every reason
    assert [(r.check, r.passed, r.mistake, r.reason, r.cell) for r in graded.rows] == [
        ('rmsprop', True, '', '', 4), ('adam', True, '', '', last)]
    assert graded.problems == [] and graded.stopped_after == last
    after = graded.nb.cells[last + 1:last + 4]
    assert [c.outputs for c in after] == [[], [], []]
    assert all(f'after cell {last}, the last cell calling check' in c.metadata['lab_skipped'] for c in after)
    assert f'through cell {last}, the last one calling check' in lab.feedback_html(graded)
    # a notebook without any check call runs to the end: the loop's timeout is the row's reason
    calls = {call.cell for call in lab._calls(nb)}
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in calls]
    loop = next(i for i, c in enumerate(nb.cells) if c.source.startswith('while True'))
    nbformat.write(nb, path)
    graded = lab.grade_notebook(path, 3, 'numpy', timeout_for=lambda i: 3 if i >= loop else 60)
    assert graded.stopped_after is None
    assert 'ran past the 3 s timeout' in ' '.join(graded.problems)
    assert [(r.check, r.reason) for r in graded.rows] == [('', graded.problems[0])]


def test_interrupted_grade_keeps_the_rows_finished(sections, tmp_path, monkeypatch):
    real = lab.grade_notebook
    calls = []

    def grade_then_interrupt(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(lab, 'grade_notebook', grade_then_interrupt)
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


def test_displayed_result_carries_the_json_bundle(sections):
    from d2l_optim.checker import MIME_TYPE
    graded = lab.grade_notebook(sections / '11.8-rmsprop.ipynb', 60, 'numpy')
    assert [(r.check, r.passed, r.cell) for r in graded.rows] == [('rmsprop', True, 4), ('adam', True, 6)]
    shown = [o['data'] for c in graded.nb.cells for o in c.get('outputs', [])
             if o.get('output_type') == 'execute_result']
    assert [d[MIME_TYPE]['rule'] for d in shown] == ['rmsprop', 'adam']
    assert all(d[MIME_TYPE]['passed'] is True for d in shown)
    assert shown[0]['text/plain'].startswith('Your my_rmsprop matches the reference rmsprop')
