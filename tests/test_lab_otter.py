"""`lab build --format otter` taken by otter-grader 7.0.0 as it is: `otter assign` gives a student
notebook holding no answer line, `otter run` grades a correct and a wrong (eps outside the root)
submission right, and the student's `grader.check(...)` shows the named mistake."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip('nbformat')
pytest.importorskip('nbclient')
pytest.importorskip('otter', reason='otter-grader is in tests/requirements.txt')

from d2l_optim.cli import main  # noqa: E402

from lab_fixtures import (ADAM_RIGHT, MOMENTUM_RIGHT, RMSPROP_EPS_OUTSIDE,  # noqa: E402
                          RMSPROP_RIGHT, answer, make_sections)

SOLUTION_LINES = ["s = hp['gamma'] * s + (1 - hp['gamma']) * g * g",
                  "return p - hp['lr'] * g / xp.sqrt(s + 1e-6), (s,)",
                  "v[:] = beta1 * v + (1 - beta1) * g", "p[:] -= hyperparams['lr'] * v_hat",
                  "beta = hyperparams['momentum']", 'The answer: eps inside the root.']


def _otter(cwd: Path, *args: str) -> str:
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(Path(sys.executable).parent / 'otter'), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _submission(student: Path, name: str, rmsprop: str, where: Path) -> Path:
    nb = nbformat.read(student / name, 4)
    if name.startswith('11.8'):
        answer(nb, 'def my_rmsprop', rmsprop)
        answer(nb, '...', ADAM_RIGHT)              # the whole-cell answer is a lone ...
    else:
        answer(nb, 'def my_momentum', MOMENTUM_RIGHT)
    where.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, where / name)
    return where / name


def test_otter_round_trip(tmp_path):
    src = make_sections(tmp_path / 'notebooks')
    lab = tmp_path / 'otter'
    assert main(['lab', 'build', '--format', 'otter', '--notebooks', str(src), '--out', str(lab)]) == 0
    config = nbformat.read(lab / '11.8-rmsprop.ipynb', 4).cells[0].source
    assert config.startswith('# ASSIGNMENT CONFIG') and 'requirements: requirements.txt' in config
    data = os.environ.get('D2L_OPTIM_DATA_DIR')
    if data and Path(data, 'airfoil_self_noise.dat').exists():
        assert '- airfoil_self_noise.dat' in config
        assert (lab / 'airfoil_self_noise.dat').read_bytes() == Path(data, 'airfoil_self_noise.dat').read_bytes()
    scores = {}
    for name in ('11.8-rmsprop.ipynb', '11.6-momentum.ipynb'):
        dist = tmp_path / 'dist' / name[:4]
        _otter(lab, 'assign', name, str(dist))
        student_text = (dist / 'student' / name).read_text()
        assert not [line for line in SOLUTION_LINES if line in student_text]
        assert 'grader.check(\\"check-my_' in student_text
        autograder = next((dist / 'autograder').glob('*.zip'))
        for who, rmsprop in (('right', RMSPROP_RIGHT), ('wrong', RMSPROP_EPS_OUTSIDE)):
            sub = _submission(dist / 'student', name, rmsprop, tmp_path / 'subs' / who)
            out = tmp_path / 'results' / who / name[:4]
            out.mkdir(parents=True)
            _otter(sub.parent, 'run', '-a', str(autograder), '-o', str(out), str(sub))
            results = json.loads((out / 'results.json').read_text())
            scores[who, name[:4]] = {t['name']: (t['score'], t['max_score']) for t in results['tests']
                                     if 'score' in t}
            if who == 'wrong' and name.startswith('11.8'):
                failed = next(t for t in results['tests'] if t['name'] == 'check-my_rmsprop')
                assert 'adds eps outside the square root' in failed['output']
    assert scores == {
        ('right', '11.8'): {'check-my_rmsprop': (1.0, 1.0), 'check-my_adam': (1.0, 1.0)},
        ('wrong', '11.8'): {'check-my_rmsprop': (0.0, 1.0), 'check-my_adam': (1.0, 1.0)},
        ('right', '11.6'): {'check-my_momentum': (1.0, 1.0)},
        ('wrong', '11.6'): {'check-my_momentum': (1.0, 1.0)}}
    # what the student sees: grader.check in their own notebook names the mistake
    from nbclient import NotebookClient
    nb = nbformat.read(tmp_path / 'subs' / 'wrong' / '11.8-rmsprop.ipynb', 4)
    NotebookClient(nb, timeout=300, allow_errors=True,
                   resources={'metadata': {'path': str(tmp_path / 'dist' / '11.8' / 'student')}}).execute()
    shown = next(c for c in nb.cells if c.source == 'grader.check("check-my_rmsprop")')
    text = json.dumps(shown.outputs)
    assert 'check-my_rmsprop results' in text and 'adds eps outside the square root' in text
