"""``d2l-optim reproduce``: the report files, their numbers, and the book's table as data."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from d2l_optim import sections as ex
from d2l_optim.trajectories import train_2d
from d2l_optim.sections import airfoil_runs, matmul, objectives, sgd
from d2l_optim.cli import main

#: the book's versions whose printed losses book_results.json holds (PyTorch and TensorFlow tabs)
COLUMNS = ('PT 1.0.3', 'PT 0.17.5', 'TF 1.0.3', 'TF 0.17.5')

TRACES_11_3 = ['epoch 10, x: 0.060466', 'epoch 10, x: 3.486784', 'epoch 10, x: 61.917364',
               'epoch 10, x: -1.528166', 'epoch 20, x1: -0.057646, x2: -0.000073',
               'epoch 10, x: 0.000000', 'epoch 10, x: 26.834133', 'epoch 10, x: 7.269860']


def test_book_results_hold_every_column_and_their_range():
    """book_results.json is the one copy of the book's printed numbers (the report compares each
    row with it): every loss row has the four versions, printed to 3 decimals, and the range the
    report quotes is theirs."""
    data = ex.book_results()
    assert set(data['sources']) == set(COLUMNS)
    assert all('d2l-ai/d2l-' in src for src in data['sources'].values())
    assert len(data['losses']) == 18 and all(set(row) == set(COLUMNS) for row in data['losses'].values())
    every = [v for row in data['losses'].values() for v in row.values()]
    assert all(round(v, 3) == v for v in every)
    assert (data['loss_range']['low'], data['loss_range']['high']) == (min(every), max(every))
    # every book entry is an experiment of the registry, and every loss experiment has one
    keys = {e.book for e in ex.EXPERIMENTS.values() if e.book}
    assert set(data['losses']) | set(data['traces']) == keys


def test_check_book_rounds_like_the_book():
    exp = ex.EXPERIMENTS['11.7/scratch']
    assert ex.check_book(exp, ex.Result({'loss': 0.25949}))[1] is True     # prints 0.259
    assert ex.check_book(exp, ex.Result({'loss': 0.25951}))[1] is False    # prints 0.260
    assert ex.check_book(exp, ex.Result({'loss': 0.24169}))[1] is True     # the optimum, 0.242
    trace = ex.EXPERIMENTS['11.3/gd-2d-eta0.1']
    assert ex.check_book(trace, ex.Result(text='epoch 20, x1: -0.057646, x2: -0.000073')) == (
        'epoch 20, x1: -0.057646, x2: -0.000073', True)
    assert ex.check_book(trace, ex.Result(text='epoch 20, x1: -0.057647, x2: -0.000073'))[1] is False


def test_reproduce_writes_the_report(tmp_path, capsys):
    out, rows_json = tmp_path / 'rep', tmp_path / 'rows.json'
    code = main(['reproduce', '--backends', 'numpy', '--sections', '11.3,11.5', '--out', str(out),
                 '--json', str(rows_json), '--seed', '0'])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert re.search(r'\[#+\] \d+/\d+', captured.err)                      # the progress bar
    assert 'agree with the book' in captured.out

    md = (out / 'report.md').read_text()
    html = (out / 'report.html').read_text()
    for line in TRACES_11_3:                   # ours and the book's, digit for digit
        assert md.count(line) >= 2 and html.count(line) >= 2, line
    data = json.loads(rows_json.read_text())
    rows = {(r['section'], r['experiment']): r for r in data['rows']}
    assert {s for s, _ in rows} == {'11.3', '11.5'}
    assert all(r['in_range'] for r in data['rows'] if r['section'] == '11.3')

    losses = [r for r in data['rows'] if 'loss' in r['values']]
    assert len(losses) == 5                                            # 4 x train_sgd + concise
    for r in losses:
        assert r['backend'] == 'numpy' and r['in_range'] is True
        assert 0.242 <= round(r['values']['loss'], 3) <= 0.259
        assert f"loss: {r['values']['loss']:.3f}" in md
        assert r['sec_per_epoch'] > 0 and r['wall_s'] > 0
    gd = rows[('11.5', 'train-sgd-gd')]
    assert gd['book'] == 'PT 1.0.3 0.247, PT 0.17.5 0.248, TF 1.0.3 0.249, TF 0.17.5 0.247'
    assert gd['book'] in md

    flops = rows[('11.5', 'matmul-gflops')]['values']
    assert set(flops) >= {'element', 'column', 'full', 'block', 'peak', 'element_rows'}
    assert all(flops[k] > 0 for k in ('element', 'column', 'full', 'block', 'peak'))  # no timing order: noisy
    assert flops['max_error'] < 1e-3
    assert rows[('11.5', 'time-vs-loss')]['figures'] == ['11.5-time-vs-loss-numpy.png']

    pngs = sorted(p.name for p in out.glob('*.png'))
    referenced = [f for r in data['rows'] for f in r['figures']]
    assert sorted(referenced) == pngs and len(pngs) >= 13
    for name in pngs:
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        assert f']({name})' in md
    assert html.count('<img ') == len(pngs) and html.count('data:image/png;base64,') == len(pngs)
    assert not list(out.glob('*.part'))


def test_a_failing_experiment_is_reported_not_fatal(tmp_path, monkeypatch):
    exp = ex.EXPERIMENTS['11.3/gd-x2-eta0.2']

    def broken(d2l, ctx):
        raise FloatingPointError('boom')
    monkeypatch.setitem(ex.EXPERIMENTS, exp.key, ex.Experiment(exp.section, exp.name, exp.title, broken,
                                                               exp.per_backend, exp.book))
    assert main(['reproduce', '--backends', 'numpy', '--sections', '11.3', '--out', str(tmp_path)]) == 1
    md = (tmp_path / 'report.md').read_text()
    assert 'error: FloatingPointError: boom' in md
    assert 'epoch 10, x: 3.486784 | epoch 10, x: 3.486784 | yes' in md   # the rest still ran


@pytest.mark.parametrize('argv, message', [
    (['--sections', '11.12'], 'unknown section(s) 11.12; choose from: 11.1, 11.2'),
    (['--backends', 'caffe'], 'unknown backend(s) caffe; choose from: numpy, torch, tensorflow, mxnet, jax'),
])
def test_bad_choices_name_the_valid_ones(tmp_path, capsys, argv, message):
    assert main(['reproduce', '--out', str(tmp_path)] + argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'report.md').exists()


def test_concise_table_covers_every_backend_and_imports_lazily():
    for rule, per_backend in airfoil_runs.CONCISE.items():
        assert set(per_backend) == {'numpy', 'torch', 'tensorflow', 'mxnet', 'jax'}, rule
        assert per_backend['numpy'][0] in ('sgd', 'momentum', rule)
    assert airfoil_runs.concise_trainer('rmsprop', 'numpy') == ('rmsprop', {'lr': 0.01, 'gamma': 0.9})
    # the book's PyTorch/TensorFlow SGD rates doubled for the half squared loss (docs/book-bugs.md)
    assert airfoil_runs.CONCISE['sgd']['torch'][1] == {'lr': 0.02}
    assert airfoil_runs.CONCISE['momentum']['tensorflow'][1] == {'learning_rate': 0.01, 'momentum': 0.9}
    code = ('import sys, d2l_optim.sections, d2l_optim.report, d2l_optim.reproduce, '
            'd2l_optim.commands.reproduce; '
            'print(sorted(m for m in ("torch", "tensorflow", "mxnet", "matplotlib") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


def test_registry_covers_every_section_and_experiment_of_the_issue():
    names = {e.key for e in ex.EXPERIMENTS.values()}
    assert {e.section for e in ex.EXPERIMENTS.values()} == set(ex.SECTIONS)
    for key in ('11.3/newton-nonconvex-eta0.5', '11.4/noisy-sgd-exponential', '11.5/matmul-gflops',
                '11.5/time-vs-loss', '11.6/eigen-decay', '11.8/weights', '11.10/yogi-scratch'):
        assert key in names, key
    # exercise answers are computed in the notebooks' cells (issue 13), not in reproduce
    for key in ('11.6/effective-weight', '11.7/rotated', '11.8/gamma-1', '11.8/rotated',
                '11.10/adam-vs-yogi'):
        assert key not in names, key
    assert len([e for e in ex.EXPERIMENTS.values() if e.per_backend]) == 20


def test_noisy_sgd_is_seeded():
    noisy = train_2d(sgd.noisy_sgd(objectives.f_2d_grad, 0.1, sgd.constant_lr(), seed=0), 50)
    again = train_2d(sgd.noisy_sgd(objectives.f_2d_grad, 0.1, sgd.constant_lr(), seed=0), 50)
    assert noisy == again                                         # the noise is seeded


def test_reproduce_11_11_offline_is_labelled_and_unchecked(tmp_path, capsys):
    """Without Fashion-MNIST the five scheduling runs use the labelled stand-in; the book's
    numbers are shown beside them but not compared (different data, fewer epochs)."""
    js = tmp_path / 'rows.json'
    assert main(['reproduce', '--sections', '11.11', '--backends', 'numpy', '--epochs', '2',
                 '--out', str(tmp_path / 'r'), '--json', str(js)]) == 0
    rows = json.loads(js.read_text())['rows']
    assert [r['experiment'] for r in rows] == ['constant', 'square-root', 'multi-factor', 'cosine',
                                               'cosine-warmup']
    assert all(r['section'] == '11.11' and r['in_range'] is None for r in rows)
    assert rows[0]['book'].startswith('0.145 / 0.944 / 0.877')
    assert all(0 <= r['values']['test_acc'] <= 1 for r in rows)
    assert 'synthetic stand-in' in rows[0]['note'] and '2 epochs' in rows[0]['note']
    md = (tmp_path / 'r' / 'report.md').read_text()
    assert '11.11-schedules.png' in md and (tmp_path / 'r' / '11.11-numpy.png').exists()


def test_gflops_use_2_n_cubed_over_t(monkeypatch):
    """GFLOPS = 2 n^3 / t / 1e9 from whatever time was measured (0.17's 2 / t was 60x too high)."""
    times = iter([0.004, 0.001, 0.002])            # column, full, block
    monkeypatch.setattr(matmul, 'best_time', lambda fn: (fn(), next(times))[1])
    r = matmul.matmul_gflops('numpy', n=256, element_budget=0.01)
    assert r['column'] == pytest.approx(2 * 256 ** 3 / 0.004 / 1e9)     # 8.39 GFLOPS
    assert r['full'] == pytest.approx(33.554432)
    assert r['block'] == pytest.approx(16.777216)
    assert 1 <= r['element_rows'] <= 256 and r['max_error'] < 1e-3
