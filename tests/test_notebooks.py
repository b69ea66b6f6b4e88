"""Every chapter notebook (11.1-11.10) runs without error on every installed backend, headless,
and prints the numbers its cells compute (the book's traces and every exercise's answer).

The committed ``.ipynb`` files are the source: they are edited in Jupyter (or with nbformat)
and stored without outputs; no generator rewrites them. Each notebook's first code cell is
``BACKEND = "numpy"`` tagged ``parameters``; the test replaces it (as papermill would) and
executes the notebook with nbclient. The cross-backend cells use every backend on the NumPy
run, and NumPy plus the notebook's backend on the others (``D2L_OPTIM_BACKENDS``), so each
framework is imported once per run. Slow (minutes): deselect with ``-m "not notebooks"``;
one notebook on one backend: ``-k "11.3 and numpy"``.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Union

import pytest

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((p for p in (ROOT / 'notebooks').glob('11.*-*.ipynb') if not p.name.startswith('11.11')),
                   key=lambda p: int(p.name.split('-')[0].split('.')[1]))


def _backends() -> list[str]:
    """Installed frameworks whose adapter exists (neither is imported here)."""
    from d2l_optim.backend import installed_backends
    return [b for b in installed_backends() if importlib.util.find_spec(f'd2l_optim.backends.{b}')]


#: One printed expectation: an exact line (the whole line, after stripping spaces at its ends),
#: or ``(pattern, value, tol)``: a regex whose first group is a number within ``tol`` of
#: ``value`` on the first line that matches (``tol=0`` for counts and exact integers).
Expect = Union[str, tuple[str, float, float]]

#: What each section's notebook must print, on every backend. One entry per section, so the
#: sections' owners edit only their own entry. 11.11's notebook is executed by tests/test_lenet.py.
EXPECTED: dict[str, list[Expect]] = {
    '11.1': [],
    '11.2': [],
    '11.3': ['epoch 10, x: 0.060466', 'epoch 10, x: 3.486784', 'epoch 10, x: 61.917364',
             'epoch 10, x: -1.528166', 'epoch 20, x1: -0.057646, x2: -0.000073',
             'epoch 10, x: 0.000000', 'epoch 10, x: 26.834133', 'epoch 10, x: 7.269860',
             'lr 0.50: f after 20 steps 8.000e+00', 'best lr: 0.35',                     # ex. 1
             (r'^bisection minimizer: (-?\d+\.\d+) after', -0.768951, 1e-4),             # ex. 2
             (r'^bisection minimizer: \S+ after (\d+) iterations$', 16, 0),
             (r'^x1\^2 \+ 2 x2\^2, lr 0.3, steps to 1e-3: (\d+)$', 6, 0),                # ex. 3
             (r'^0.005 x1\^2 \+ x2\^2, lr 0.9, steps to 1e-3: (\d+)$', 268, 0),
             (r'^diagonal Newton, lr 1, steps to 1e-3: (\d+)$', 1, 0),                   # ex. 4
             (r'^rotated, gradient descent, lr 0.9, steps to 1e-3: (\d+)$', 266, 0),     # ex. 5
             (r'^rotated, diagonal Newton, lr 1, steps to 1e-3: (\d+)$', 422, 0)],
    '11.4': [],
    '11.5': [],
    '11.6': ['epoch 20, x1: -0.943467, x2: -0.000073', 'epoch 20, x1: -0.387814, x2: -1673.365109',
             'epoch 20, x1: 0.007188, x2: 0.002553', 'epoch 20, x1: -0.126340, x2: -0.186632'],
    '11.7': ['epoch 20, x1: -2.382563, x2: -0.158591', 'epoch 20, x1: -0.002295, x2: -0.000000'],
    '11.8': ['epoch 20, x1: -0.010599, x2: 0.000000'],
    '11.9': [],
    '11.10': [],
    '11.11': [],
}
#: notebooks that train on the airfoil data and print the book's "loss: L, T sec/epoch" lines
TRAINING = {'11.5': 6, '11.6': 4, '11.7': 2, '11.8': 2, '11.9': 2, '11.10': 3}
#: the sections whose notebooks overlay one seed's run on several backends
OVERLAY = ('11.4', '11.5', '11.6', '11.7', '11.8', '11.9', '11.10')


#: TensorFlow/absl start-up lines that must not reach a learner's output
TF_LOG_MARKERS = ('cpu_feature_guard', 'absl::InitializeLog', 'oneDNN', 'I0000 ', 'W0000 ',
                  'This TensorFlow binary is optimized')


def stderr_of(nb) -> str:
    """Everything an executed notebook printed to stderr."""
    return '\n'.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code'
                     for o in c.outputs if o.get('output_type') == 'stream' and o.get('name') == 'stderr')


def check_expected(section: str, text: str) -> list[str]:
    """What ``text`` (a notebook's printed output) misses of ``EXPECTED[section]``, as messages."""
    lines = [line.strip() for line in text.splitlines()]
    missing = []
    for item in EXPECTED.get(section, []):
        if isinstance(item, str):
            if item not in lines:
                missing.append(f'missing line {item!r}')
            continue
        pattern, value, tol = item
        m = re.search(pattern, text, re.M)
        if m is None:
            missing.append(f'no line matches {pattern!r}')
        elif not abs(float(m.group(1)) - value) <= tol:
            missing.append(f'{pattern!r}: got {m.group(1)}, expected {value} +- {tol}')
    return missing


def stdout_of(nb) -> str:
    """Everything an executed notebook printed to stdout, cell after cell."""
    return '\n'.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code'
                     for o in c.outputs if o.get('output_type') == 'stream' and o.get('name') == 'stdout')


def execute(path: Path, backend: str, tmp_path: Path, monkeypatch) -> object:
    """The notebook at ``path`` executed headless on ``backend`` (outputs kept in the result)."""
    from d2l_optim.sections import available_backends
    ok, skipped = available_backends([backend])
    if not ok:
        pytest.skip(skipped[backend])
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if 'parameters' in c.metadata.get('tags', [])]
    assert len(params) == 1
    params[0].source = f'BACKEND = "{backend}"'
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    if backend != 'numpy':
        monkeypatch.setenv('D2L_OPTIM_BACKENDS', f'numpy,{backend}')
    else:
        monkeypatch.delenv('D2L_OPTIM_BACKENDS', raising=False)
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name='python3',
                                      resources={'metadata': {'path': str(tmp_path)}})
    client.execute()      # raises CellExecutionError naming the cell on any error
    return nb


def test_notebooks_found_and_stored_without_outputs():
    assert [p.name.split('-')[0] for p in NOTEBOOKS] == [f'11.{i}' for i in range(1, 11)]
    assert not (ROOT / 'notebooks' / '_build.py').exists()      # the notebooks are the source
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == 'code']
        assert code[0].source == 'BACKEND = "numpy"', path.name
        assert code[0].metadata.get('tags') == ['parameters'], path.name
        assert all(c.outputs == [] and c.execution_count is None for c in code), path.name


def test_expected_has_one_entry_per_section_and_checks_numbers():
    assert list(EXPECTED) == [f'11.{i}' for i in range(1, 12)]
    saved = dict(EXPECTED)
    try:
        EXPECTED['11.1'] = ['epoch 10, x: 0.060466', (r'^iterations: (\d+)$', 22, 0),
                            (r'^minimizer: (-?\d+\.\d+)$', -0.7690, 1e-4)]
        good = '  epoch 10, x: 0.060466\niterations: 22\nminimizer: -0.76903\n'
        assert check_expected('11.1', good) == []
        bad = 'epoch 10, x: 0.0604661\niterations: 23\n'
        assert check_expected('11.1', bad) == [
            "missing line 'epoch 10, x: 0.060466'",
            "'^iterations: (\\\\d+)$': got 23, expected 22 +- 0",
            "no line matches '^minimizer: (-?\\\\d+\\\\.\\\\d+)$'"]
    finally:
        EXPECTED.clear()
        EXPECTED.update(saved)


@pytest.mark.notebooks
@pytest.mark.parametrize('backend', _backends())
@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, backend: str, tmp_path, monkeypatch):
    nb = execute(path, backend, tmp_path, monkeypatch)
    section = path.name.split('-')[0]
    text = stdout_of(nb)
    missing = check_expected(section, text)
    assert not missing, f'{path.name} on {backend}: ' + '; '.join(missing)
    noise = stderr_of(nb)
    assert not [line for line in noise.splitlines() if any(m in line for m in TF_LOG_MARKERS)], noise
    ours = re.findall(r'^.*(?:d2l_optim|backends)/\S+\.py:\d+: \w*DeprecationWarning.*$', noise, re.M)
    assert not ours, ours                                   # no DeprecationWarning from our code
    if section in TRAINING:
        losses = [float(m) for m in re.findall(r'^loss: (\d+\.\d+), \d+\.\d+ sec/epoch$', text, re.M)]
        assert len(losses) >= TRAINING[section], text          # the book's runs come first
        assert all(0.2415 <= v < 0.30 for v in losses[:TRAINING[section]]), losses
    if section in OVERLAY:
        overlay = re.findall(r'^\s*(\w+): loss: (\d+\.\d+)', text, re.M)
        names = {name for name, _ in overlay}
        assert 'numpy' in names and backend in names, text
