"""TensorFlow starts quietly: no absl/oneDNN start-up line in a script, the command line or an
executed notebook (TF 2.21 prints them at import whatever TF_CPP_MIN_LOG_LEVEL says), while
whatever a failed import wrote is shown in full."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from d2l_optim.quiet_import import TENSORFLOW_NOTICES, quiet_import

ROOT = Path(__file__).resolve().parents[1]
#: TensorFlow/absl start-up lines that must not reach a learner's output
MARKERS = ('absl::InitializeLog', 'oneDNN', 'cpu_feature_guard', 'This TensorFlow binary is optimized',
           'I0000 ', 'W0000 ')
ABSL = 'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n'
ONEDNN = ('I0000 00:00:1796632294.971314    6690 port.cc:153] oneDNN custom operations are on. '
          'You may see slightly different numerical results\n')

needs_tf = pytest.mark.skipif(importlib.util.find_spec('tensorflow') is None, reason='tensorflow is not installed')


def noisy_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(m in line for m in MARKERS)]


def write_module(folder: Path, name: str, body: str) -> None:
    """A module that writes to descriptor 2 from below Python, as TensorFlow's C++ does."""
    (folder / f'{name}.py').write_text(textwrap.dedent(body))


def test_the_notices_and_a_real_line_from_an_import(tmp_path, monkeypatch, capfd):
    monkeypatch.syspath_prepend(str(tmp_path))
    write_module(tmp_path, 'fake_tf_ok', f'''
        import os
        os.write(2, {ABSL.encode()!r})
        os.write(2, {ONEDNN.encode()!r})
        os.write(2, b'a CUDA library could not be loaded\\n')
        VALUE = 1
        ''')
    monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '2')
    assert quiet_import('fake_tf_ok').VALUE == 1
    err = capfd.readouterr().err
    assert err == 'a CUDA library could not be loaded\n'        # the notices gone, the rest kept
    assert noisy_lines(ABSL + ONEDNN) == [ABSL.strip(), ONEDNN.strip()]   # the markers would find them


def test_a_failed_import_shows_everything_it_wrote(tmp_path, monkeypatch, capfd):
    monkeypatch.syspath_prepend(str(tmp_path))
    write_module(tmp_path, 'fake_tf_broken', f'''
        import os
        os.write(2, {ABSL.encode()!r})
        os.write(2, b'libtensorflow_framework.so.2: cannot open shared object file\\n')
        raise ImportError('DLL load failed')
        ''')
    with pytest.raises(ImportError, match='DLL load failed'):
        quiet_import('fake_tf_broken')
    err = capfd.readouterr().err
    assert err == ABSL + 'libtensorflow_framework.so.2: cannot open shared object file\n'
    os.write(2, b'after\n')                                      # descriptor 2 is back
    assert capfd.readouterr().err == 'after\n'


def test_log_level_0_shows_every_line(tmp_path, monkeypatch, capfd):
    monkeypatch.syspath_prepend(str(tmp_path))
    write_module(tmp_path, 'fake_tf_verbose', f'''
        import os
        os.write(2, {ONEDNN.encode()!r})
        ''')
    monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '0')
    quiet_import('fake_tf_verbose')
    assert capfd.readouterr().err == ONEDNN
    assert any(n in ONEDNN for n in TENSORFLOW_NOTICES)


def run(args: list[str], level: str | None, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
    if level is not None:
        env['TF_CPP_MIN_LOG_LEVEL'] = level
    env['MPLBACKEND'] = 'Agg'
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)


def test_real_tensorflow_prints_the_notices_at_import(tmp_path):
    """The premise: a plain ``import tensorflow`` prints them at import (not at the first op),
    so capturing the import is enough; if TensorFlow stops printing them this test says so."""
    if importlib.util.find_spec('tensorflow') is None:
        pytest.skip('tensorflow is not installed')
    code = ('import sys\nimport tensorflow as tf\nprint("IMPORTED", file=sys.stderr, flush=True)\n'
            'tf.reduce_sum(tf.matmul(tf.ones((64, 64)), tf.ones((64, 64)))).numpy()\n')
    out = run(['-c', code], '3', tmp_path)
    assert out.returncode == 0, out.stderr
    before, after = out.stderr.split('IMPORTED\n')
    assert noisy_lines(before), before
    assert noisy_lines(after) == [], after


SCRIPTS = {
    'backend': ('from d2l_optim.backends import tensorflow as d2l\n'
                'data_iter, dim = d2l.get_data_ch11(10, n=100)\n'
                'd2l.train_ch11(d2l.adam, d2l.init_adam_states(dim), {"lr": 0.01, "t": 1}, data_iter, dim, 1)\n'
                'd2l.fit_concise_ch11("Adam", {"learning_rate": 0.01}, data_iter, 1, compile=True)\n'
                'from d2l_optim.backends import tensorflow_lenet\n'
                'print(tensorflow_lenet.LeNet()(d2l.tf.zeros((1, 28, 28, 1))).shape)\n', 'loss:'),
    'lenet first': ('from d2l_optim.backends import tensorflow_lenet as d2l\n'
                    'print(d2l.LeNet()(d2l.tf.zeros((1, 28, 28, 1))).shape)\n', '(1, 10)'),
}


@needs_tf
@pytest.mark.parametrize('script', list(SCRIPTS))
@pytest.mark.parametrize('level', [None, '2', '3'])
def test_a_script_is_quiet(tmp_path, level, script):
    code, printed = SCRIPTS[script]
    out = run(['-c', code], level, tmp_path)
    assert out.returncode == 0, out.stderr
    assert printed in out.stdout and '(1, 10)' in out.stdout
    assert noisy_lines(out.stderr) == [], out.stderr


@needs_tf
def test_the_command_line_is_quiet(tmp_path):
    out = run(['-m', 'd2l_optim', 'run', 'sgd', '--backend', 'tensorflow', '--epochs', '1',
               '--out', str(tmp_path / 'out')], None, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('loss: 0.2') and (tmp_path / 'out' / 'sgd-tensorflow.png').exists()
    assert noisy_lines(out.stderr) == [], out.stderr


@needs_tf
@pytest.mark.notebooks
def test_an_executed_tensorflow_notebook_is_quiet(tmp_path, monkeypatch):
    """11.1, the shortest notebook, loads the backend in its second cell: no output of any
    cell (streams, displays, results) holds a start-up line."""
    from test_notebooks import execute
    monkeypatch.delenv('TF_CPP_MIN_LOG_LEVEL', raising=False)
    nb = execute(ROOT / 'notebooks' / '11.1-optimization-intro.ipynb', 'tensorflow', tmp_path, monkeypatch)
    texts = [o.get('text', '') + ''.join(str(v) for v in o.get('data', {}).values())
             for c in nb.cells if c.cell_type == 'code' for o in c.outputs]
    assert any('load_backend' in c.source for c in nb.cells)      # TensorFlow was imported
    assert noisy_lines('\n'.join(texts)) == []
