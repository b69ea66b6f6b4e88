"""`lab build --format nbgrader` taken by nbgrader 0.9.6 as it is: generate_assignment, autograde
and generate_feedback on a course folder; a correct submission gets every point, a wrong one
(eps outside the root) loses the check's point and its feedback names the mistake."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip('nbformat')
pytest.importorskip('nbgrader', reason='nbgrader is in tests/requirements.txt')

from d2l_optim.cli import main  # noqa: E402
from d2l_optim.lab_formats import strict_source  # noqa: E402

from lab_fixtures import (ADAM_RIGHT, MOMENTUM_RIGHT, RMSPROP_EPS_OUTSIDE,  # noqa: E402
                          RMSPROP_RIGHT, make_sections)


def _nbgrader(course: Path, *args: str) -> str:
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, '-m', 'nbgrader', *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _fill(nb, answers):
    for cell in nb.cells:
        grade_id = cell.metadata.get('nbgrader', {}).get('grade_id')
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def test_strict_source_adds_strict_to_every_check_call():
    assert strict_source("d2l.check(f, 'adam')") == "d2l.check(f, 'adam', strict=True)"
    assert strict_source("r = check(\n    f, 'adam',\n)\nr") == "r = check(\n    f, 'adam',\n strict=True)\nr"
    assert strict_source("print(d2l.check(f, 'sgd', steps=5))") == \
        "print(d2l.check(f, 'sgd', steps=5, strict=True))"
    assert strict_source("d2l.check(f, 'sgd', strict=False)") == "d2l.check(f, 'sgd', strict=False)"


def test_nbgrader_round_trip(tmp_path):
    src = make_sections(tmp_path / 'notebooks')
    course = tmp_path / 'course'
    assert main(['lab', 'build', '--format', 'nbgrader', '--notebooks', str(src), '--out', str(course),
                 '--sections', '11.8,11.6']) == 0
    built = nbformat.read(course / 'source' / 'lab' / '11.8-rmsprop.ipynb', 4)
    meta = {c.metadata['nbgrader']['grade_id']: c.metadata['nbgrader'] for c in built.cells
            if 'nbgrader' in c.metadata}
    assert sorted(meta) == ['answer-my_adam', 'answer-my_rmsprop', 'answer-text-7', 'check-my_adam',
                            'check-my_rmsprop']
    assert meta['check-my_rmsprop'] == {'grade': True, 'grade_id': 'check-my_rmsprop', 'locked': True,
                                        'points': 1.0, 'schema_version': 3, 'solution': False,
                                        'task': False}
    # the ids are stable: a second build writes the same notebook
    first = (course / 'source' / 'lab' / '11.8-rmsprop.ipynb').read_text()
    assert main(['lab', 'build', '--format', 'nbgrader', '--notebooks', str(src), '--out', str(course),
                 '--sections', '11.8,11.6']) == 0
    assert (course / 'source' / 'lab' / '11.8-rmsprop.ipynb').read_text() == first

    _nbgrader(course, 'generate_assignment', 'lab')
    released = {p.name: nbformat.read(p, 4) for p in (course / 'release' / 'lab').iterdir()}
    text = '\n'.join(c.source for nb in released.values() for c in nb.cells)
    assert 'sqrt(s + 1e-6)' not in text and "beta = hyperparams['momentum']" not in text
    assert 'eps inside the root' not in text and text.count('raise NotImplementedError()') == 3

    answers = {'alice': {'answer-my_rmsprop': RMSPROP_RIGHT, 'answer-my_adam': ADAM_RIGHT,
                         'answer-my_momentum': MOMENTUM_RIGHT},
               'bob': {'answer-my_rmsprop': RMSPROP_EPS_OUTSIDE, 'answer-my_adam': ADAM_RIGHT,
                       'answer-my_momentum': MOMENTUM_RIGHT}}
    for student, theirs in answers.items():
        for name, nb in released.items():
            path = course / 'submitted' / student / 'lab' / name
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(_fill(nbformat.from_dict(nb), theirs), path)
    _nbgrader(course, 'autograde', 'lab')
    _nbgrader(course, 'generate_feedback', 'lab')
    _nbgrader(course, 'export', '--to', str(tmp_path / 'grades.csv'))
    with open(tmp_path / 'grades.csv', newline='') as f:
        scores = {r['student_id']: (float(r['score']), float(r['max_score'])) for r in csv.DictReader(f)}
    assert scores == {'alice': (3.0, 3.0), 'bob': (2.0, 3.0)}
    page = (course / 'feedback' / 'bob' / 'lab' / '11.8-rmsprop.html').read_text()
    assert 'AssertionError' in page and 'adds eps outside the square root' in page
    alice = (course / 'feedback' / 'alice' / 'lab' / '11.8-rmsprop.html').read_text()
    assert 'AssertionError' not in alice and 'matches the reference rmsprop' in alice


def test_check_strict_raises_the_message_and_returns_a_pass():
    from d2l_optim import check, load_backend
    xp_rule = 'def f(p, g, state, hp, t, xp):\n' + RMSPROP_EPS_OUTSIDE.split('\n', 1)[1]
    scope = {}
    exec(xp_rule, scope)
    with pytest.raises(AssertionError) as info:
        check(scope['f'], 'rmsprop', strict=True)
    assert str(info.value) == check(scope['f'], 'rmsprop').message
    assert 'adds eps outside the square root' in str(info.value)
    d2l = load_backend('numpy')
    assert d2l.check(d2l.rmsprop, 'rmsprop', strict=True).passed      # a pass is returned as is


def test_a_cell_with_answer_and_check_is_split_for_both_tools():
    from d2l_optim.lab_formats import nbgrader_notebook, otter_notebook
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(RMSPROP_RIGHT.replace('    (s,)', '    # BEGIN SOLUTION\n    (s,)', 1)
                                          + '\n    # END SOLUTION\n\nresult = d2l.check(my_rmsprop, "rmsprop")\n'
                                          'print(bool(result))\nresult'),
                nbformat.v4.new_code_cell("d2l.check(my_rmsprop, 'rmsprop', steps=10)  # points: 3")]
    graded = nbgrader_notebook(nb, 'x.ipynb', points=2)
    assert [c.metadata.nbgrader['grade_id'] for c in graded.cells] == [
        'answer-my_rmsprop', 'check-my_rmsprop', 'check-my_rmsprop-2']
    assert graded.cells[2].metadata.nbgrader['points'] == 3      # the cell's own points
    assert graded.cells[0].source.endswith('# END SOLUTION')
    assert graded.cells[1].source.startswith('result = d2l.check(my_rmsprop, "rmsprop", strict=True)')
    assert graded.cells[1].metadata.nbgrader['points'] == 2
    otter = otter_notebook(nb, 'x', files=('airfoil_self_noise.dat',))
    kinds = [c.source.split('\n')[0] if c.cell_type == 'raw' else c.cell_type for c in otter.cells]
    assert kinds == ['# ASSIGNMENT CONFIG', 'code', '# BEGIN QUESTION', '# BEGIN SOLUTION', 'code',
                     '# END SOLUTION', '# BEGIN TESTS', 'code', '# END TESTS', '# END QUESTION', 'code',
                     '# BEGIN QUESTION', '# BEGIN TESTS', 'code', '# END TESTS', '# END QUESTION']
    assert otter.cells[11].source.split('\n')[:3] == ['# BEGIN QUESTION', 'name: check-my_rmsprop-2', 'points: 3']
    assert otter.cells[7].source == "_ = d2l.check(my_rmsprop, 'rmsprop', strict=True)"
