"""The command line: the book's line, the figure, the JSON runs, and clear errors."""
import json
import subprocess
import sys

import pytest

from d2l_optim.cli import main


def test_run_prints_the_book_line_and_writes_png_and_json(tmp_path, capsys):
    out, js = tmp_path / 'figs', tmp_path / 'runs.json'
    assert main(['run', 'rmsprop', '--seed', '0', '--out', str(out), '--json', str(js)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('loss: 0.24') and lines[0].endswith(' sec/epoch')
    png = out / 'rmsprop-numpy.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    (run,) = json.loads(js.read_text())
    assert run['backend'] == 'numpy' and run['optimizer'] == 'rmsprop' and run['epochs'] == 2
    assert run['hyperparams'] == {'lr': 0.01, 'gamma': 0.9}
    assert len(run['losses']) == 15 and run['final_loss'] == run['losses'][-1]
    assert 0.2417 <= run['final_loss'] <= 0.26
    assert 0 < run['sec_per_epoch'] < run['wall_s']
    assert f"loss: {run['final_loss']:.3f}" in lines[0]


def test_seed_makes_runs_identical_and_flags_override_defaults(tmp_path):
    losses = []
    for i, extra in enumerate([[], [], ['--lr', '0.02']]):
        js = tmp_path / f'{i}.json'
        main(['run', 'adam', '--seed', '7', '--batch-size', '100', '--epochs', '3', '--json', str(js)] + extra)
        losses.append(json.loads(js.read_text())[0])
    assert losses[0]['losses'] == losses[1]['losses']
    assert losses[2]['hyperparams'] == {'lr': 0.02, 'beta1': 0.9, 'beta2': 0.999}
    assert losses[2]['losses'] != losses[0]['losses'] and len(losses[0]['losses']) == 22


@pytest.mark.parametrize('argv, message', [
    (['run', 'adamw'], "unknown optimizer 'adamw'; choose one of: sgd, momentum, adagrad, rmsprop, adadelta, adam, yogi"),
    (['run', 'sgd', '--backend', 'caffe'], "unknown backend 'caffe'; choose one of: numpy, torch, tensorflow, mxnet, jax"),
    (['run', 'sgd', '--lr', '0'], 'lr must be > 0, got 0.0'),
    (['run', 'rmsprop', '--gamma', '1'], r'gamma must be in [0, 1), got 1.0'),
    (['run', 'adadelta', '--lr', '0.1'], 'does not apply to adadelta; it takes: --rho'),
    (['run', 'sgd', '--batch-size', '0'], 'batch_size must be an integer in [1, 1500], got 0'),
    (['run', 'sgd', '--batch-size', '2000'], 'batch_size must be an integer in [1, 1500], got 2000'),
    (['run', 'sgd', '--lr', '100'], 'try a smaller learning rate'),
])
def test_bad_input_exits_2_with_a_clear_message(argv, message, capsys, tmp_path):
    js = tmp_path / 'x.json'
    assert main(argv + ['--json', str(js)]) == 2
    assert message in capsys.readouterr().err
    assert not js.exists() and not list(tmp_path.iterdir())       # nothing half-written


def test_python_dash_m_and_console_script():
    out = subprocess.run([sys.executable, '-m', 'd2l_optim', 'run', 'sgd', '--seed', '1', '--epochs', '1'],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('loss: 0.2') and out.stdout.count('\n') == 1
