"""Every chapter notebook (11.1-11.10) runs without error on every installed backend, headless.

Each notebook's first code cell is ``BACKEND = "numpy"`` tagged ``parameters``; the test
replaces it (as papermill would) and executes the notebook with nbclient. The cross-backend
cells use every backend on the NumPy run, and NumPy plus the notebook's backend on the
others (``D2L_OPTIM_BACKENDS``), so each framework is imported once per run.
Slow (minutes): deselect with ``-m "not notebooks"``.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

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


#: lines a notebook must print, whatever the backend: the book's deterministic traces
EXPECTED = {
    '11.3': ['epoch 10, x: 0.060466', 'epoch 10, x: 3.486784', 'epoch 10, x: 61.917364',
             'epoch 10, x: -1.528166', 'epoch 20, x1: -0.057646, x2: -0.000073',
             'epoch 10, x: 0.000000', 'epoch 10, x: 26.834133', 'epoch 10, x: 7.269860'],
    '11.6': ['epoch 20, x1: -0.943467, x2: -0.000073', 'epoch 20, x1: -0.387814, x2: -1673.365109',
             'epoch 20, x1: 0.007188, x2: 0.002553', 'epoch 20, x1: -0.126340, x2: -0.186632'],
    '11.7': ['epoch 20, x1: -2.382563, x2: -0.158591', 'epoch 20, x1: -0.002295, x2: -0.000000'],
    '11.8': ['epoch 20, x1: -0.010599, x2: 0.000000'],
}
#: notebooks that train on the airfoil data and print the book's "loss: L, T sec/epoch" lines
TRAINING = {'11.5': 6, '11.6': 4, '11.7': 2, '11.8': 2, '11.9': 2, '11.10': 3}


def test_notebooks_found_and_stored_without_outputs():
    assert [p.name.split('-')[0] for p in NOTEBOOKS] == [f'11.{i}' for i in range(1, 11)]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == 'code']
        assert code[0].source == 'BACKEND = "numpy"', path.name
        assert code[0].metadata.get('tags') == ['parameters'], path.name
        assert all(c.outputs == [] and c.execution_count is None for c in code), path.name


def test_notebooks_match_their_generator():
    out = subprocess.run([sys.executable, str(ROOT / 'notebooks' / '_build.py'), '--check'],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def _stdout(nb) -> str:
    return '\n'.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code'
                     for o in c.outputs if o.get('output_type') == 'stream' and o.get('name') == 'stdout')


@pytest.mark.notebooks
@pytest.mark.parametrize('backend', _backends())
@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, backend: str, tmp_path, monkeypatch):
    from d2l_optim.experiments import available_backends
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

    section = path.name.split('-')[0]
    text = _stdout(nb)
    for line in EXPECTED.get(section, []):
        assert line in text, f'{path.name} on {backend}: missing {line!r}'
    if section in TRAINING:
        losses = [float(m) for m in re.findall(r'^loss: (\d+\.\d+), \d+\.\d+ sec/epoch$', text, re.M)]
        assert len(losses) == TRAINING[section], text
        assert all(0.2415 <= v < 0.30 for v in losses), losses
    if section in ('11.4', '11.5', '11.6', '11.7', '11.8', '11.9', '11.10'):
        overlay = re.findall(r'^\s*(\w+): loss: (\d+\.\d+)', text, re.M)
        names = {name for name, _ in overlay}
        assert 'numpy' in names and backend in names, text
