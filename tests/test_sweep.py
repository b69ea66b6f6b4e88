"""Sweeps: each batched run equals its single ``fit_ch11`` run, divergence stays local,
the rules are the objects in RULES, bad input is one line, the CLI writes JSON and a figure."""
import dataclasses
import json
import re
import sys

import numpy as np
import pytest

import d2l_optim
from conftest import load_or_skip
from d2l_optim import airfoil, data, harness
from d2l_optim.backend import load_backend
from d2l_optim.book import book_optimizer, init_states
from d2l_optim.cli import main
from d2l_optim.rules import RULES, Rule
from d2l_optim.sweeps import (LEAST_SQUARES_LOSS, evaluation_points, hyperparams_taken,
                             robustness_width, summarize, sweep)

sweep_module = sys.modules['d2l_optim.sweeps.batched']     # where the batched loop lives
KEYS = {'backend', 'optimizer', 'hyperparams', 'seed', 'losses', 'final_loss', 'diverged',
        'diverged_epoch'}
#: two values of each rule's knob (adadelta has no learning rate: rho)
GRIDS = {name: ({'rho': [0.5, 0.9]} if name == 'adadelta'
                else {'lr': [rule.defaults['lr'] * 0.3, rule.defaults['lr'] * 2]})
         for name, rule in RULES.items()}


def _backend64(backend):
    """The backend with float64 parameters, states and batches (the sweep's float64 reference)."""
    if backend.name == 'numpy':
        as64 = lambda a: np.array(a, dtype=np.float64)  # noqa: E731
        return dataclasses.replace(backend, tensor=lambda a: np.asarray(a, np.float64),
                                   parameter=as64, state=as64)
    import torch
    return dataclasses.replace(
        backend, tensor=lambda a: torch.from_numpy(np.asarray(a, np.float64)),
        parameter=lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True),
        state=lambda a: torch.tensor(a, dtype=torch.float64))


def single_run(backend_name, rule, hp, seed, dtype='float32', batch_size=10, epochs=2):
    """fit_ch11 of the book's optimizer function for ``rule``, exactly as a learner runs it."""
    backend = load_backend(backend_name).BACKEND
    if dtype == 'float64':
        backend = _backend64(backend)
    data_iter, d = airfoil.get_data_ch11(batch_size, convert=backend.tensor)
    states = init_states(rule, backend)(d) if rule.n_states else None
    return harness.fit_ch11(book_optimizer(rule, backend), states, dict(hp), data_iter, d, epochs,
                            backend=backend, seed=seed)


@pytest.mark.parametrize('backend, dtype, tol', [
    ('numpy', 'float32', 1e-5), ('numpy', 'float64', 1e-6),
    ('torch', 'float32', 1e-5), ('torch', 'float64', 1e-6)])
def test_every_batched_run_equals_its_single_run(backend, dtype, tol):
    load_or_skip(backend)
    worst = {}
    for name, rule in RULES.items():
        result = sweep(name, GRIDS[name], seeds=(0, 7), backend=backend, dtype=dtype)
        assert len(result.runs) == 4 and {r['seed'] for r in result.runs} == {0, 7}
        for run in result.runs:
            ref = single_run(backend, rule, run['hyperparams'], run['seed'], dtype)
            assert len(run['losses']) == len(ref.losses) == 15
            assert result.x == pytest.approx(ref.x, abs=0)
            worst[name] = max(worst.get(name, 0), float(np.max(np.abs(
                np.array(run['losses']) - np.array(ref.losses)))))
            assert run['final_loss'] == run['losses'][-1] and not run['diverged']
    assert max(worst.values()) <= tol, worst
    # a different seed gives a different run: the comparison above is not vacuous
    a, b = (sweep('sgd', {'lr': [0.05]}, seeds=(s,), backend=backend, dtype=dtype).runs[0]['losses']
            for s in (0, 7))
    assert np.max(np.abs(np.array(a) - np.array(b))) > 1e-4


@pytest.mark.parametrize('batch_size, epochs, n_evals', [(7, 2, 3), (1500, 3, 1), (100, 1, 7)])
def test_evaluation_points_match_fit_ch11_for_any_batch_size(batch_size, epochs, n_evals):
    # 7 does not divide 1500 (a short last batch), 1500 never reaches 200 examples in step
    result = sweep('momentum', {'lr': [0.002]}, seeds=(3,), batch_size=batch_size, num_epochs=epochs)
    ref = single_run('numpy', RULES['momentum'], result.runs[0]['hyperparams'], 3,
                     batch_size=batch_size, epochs=epochs)
    assert result.x == ref.x and len(ref.losses) == n_evals
    assert np.max(np.abs(np.array(result.runs[0]['losses']) - ref.losses)) <= 1e-5
    assert evaluation_points(1500, batch_size, epochs)[-1][2] == ref.x[-1]


def test_the_sweep_calls_the_rule_objects_in_RULES(monkeypatch):
    original = RULES['adam']
    calls = []

    def spy(p, g, state, hp, t, xp):
        calls.append((np.shape(p), np.shape(hp['lr']), t))
        return original.update(p, g, state, hp, t, xp)

    expected = sweep('adam', {'lr': [0.01, 0.02, 0.03]}, seeds=(0, 1)).runs
    monkeypatch.setitem(RULES, 'adam', dataclasses.replace(original, update=spy))
    got = sweep('adam', {'lr': [0.01, 0.02, 0.03]}, seeds=(0, 1)).runs
    assert [r['losses'] for r in got] == [r['losses'] for r in expected]
    # one call per step for all 6 runs: params (K, d + 1), lr (K, 1), t the one counter
    batched = [c for c in calls if c[0]]      # hyperparams_taken also calls it once, on floats
    assert len(batched) == 300 and batched[0] == ((6, 6), (6, 1), 1) and batched[-1][2] == 300
    # and the sweep module defines no update function of its own
    own = {n for n, v in vars(sweep_module).items() if callable(v)}
    assert not own & (set(RULES) | {'update', 'adam_step', '_adam_step'})
    assert sweep_module.apply_rule is d2l_optim.rules.apply_rule


def test_a_diverging_run_freezes_and_the_others_are_unaffected():
    alone = sweep('momentum', {'lr': [0.005, 0.002]}, seeds=(0, 1)).runs
    mixed = sweep('momentum', {'lr': [0.005, 50.0, 0.002]}, seeds=(0, 1)).runs
    bad = [r for r in mixed if r['hyperparams']['lr'] == 50.0]
    good = [r for r in mixed if r['hyperparams']['lr'] != 50.0]
    assert [r['losses'] for r in good] == [r['losses'] for r in alone]    # bit for bit
    for r in bad:
        assert r['diverged'] and r['diverged_epoch'] == 1
        assert 1 <= len(r['losses']) < 15
        assert np.array_equal(r['final_loss'], r['losses'][-1], equal_nan=True)
        assert harness.diverged(r['final_loss'], r['losses'][0] if len(r['losses']) > 1 else None)
        assert all(not harness.diverged(v, r['losses'][0]) for v in r['losses'][1:-1])
    assert all(not r['diverged'] and r['diverged_epoch'] is None for r in good)
    # the single run of the absurd learning rate stops with the same verdict
    with pytest.raises(harness.DivergenceError, match='epoch 1'):
        single_run('numpy', RULES['momentum'], bad[0]['hyperparams'], bad[0]['seed'])


def test_a_run_caught_by_the_relative_rule_stops_at_that_epoch():
    """SGD at lr 1 climbs slowly: the loss passes 1e3 x its first evaluation in epoch 2, long
    before 1e6, so it is the relative rule that stops it (as it stops the single run)."""
    (run,) = sweep('sgd', {'lr': [1.0]}, seeds=(0,)).runs
    first, last = run['losses'][0], run['final_loss']
    assert run['diverged'] and run['diverged_epoch'] == 2 and len(run['losses']) == 12
    assert 1e3 * first < last < 1e6
    assert all(v <= 1e3 * first for v in run['losses'][:-1])
    with pytest.raises(harness.DivergenceError, match='epoch 2'):
        single_run('numpy', RULES['sgd'], {'lr': 1.0}, 0)


def test_hyperparams_not_in_the_grid_take_the_books_defaults():
    (run,) = sweep('rmsprop', {'lr': [0.02]}).runs
    assert run['hyperparams'] == {'lr': 0.02, 'gamma': 0.9} and run['seed'] == 0
    assert set(run) == KEYS
    assert hyperparams_taken('rmsprop') == ['lr', 'gamma', 'eps']
    assert hyperparams_taken('adadelta') == ['rho', 'eps']
    assert hyperparams_taken('sgd') == ['lr']
    runs = sweep('adam', {'lr': [0.01, 0.1], 'beta1': [0.5, 0.9]}, seeds=(0, 1, 2)).runs
    assert len(runs) == 12
    assert [(r['hyperparams']['lr'], r['hyperparams']['beta1'], r['seed']) for r in runs[:4]] == \
        [(0.01, 0.5, 0), (0.01, 0.5, 1), (0.01, 0.5, 2), (0.01, 0.9, 0)]


@pytest.mark.parametrize('args, kwargs, message', [
    (('sgd', {}), {}, 'the grid is empty'),
    (('sgd', {'lr': []}), {}, "the grid's lr has no values"),
    (('rmsprop', {'rho': [0.9]}), {}, "rmsprop does not take 'rho'; it takes: lr, gamma, eps"),
    (('adadelta', {'lr': [0.1]}), {}, "adadelta does not take 'lr'; it takes: rho, eps"),
    (('sgd', {'lr': [0.1, 0.2, -1.0]}), {}, r'grid value lr\[2\] = -1.0 is invalid: lr must be > 0'),
    (('rmsprop', {'gamma': [0.5, 1.0]}), {}, r'gamma\[1\] = 1.0 is invalid: gamma must be in \[0, 1\)'),
    (('sgd', {'lr': ['fast']}), {}, r"lr\[0\] = 'fast' is invalid"),
    (('sgd', {'lr': '0.1'}), {}, r"the grid's lr is the string '0.1'; give numbers"),
    (('sgd', {'lr': [0.1]}), {'seeds': ()}, 'seeds is empty'),
    (('sgd', {'lr': [0.1]}), {'seeds': (0, -2)}, r'seeds\[1\] = -2'),
    (('sgd', {'lr': [0.1]}), {'batch_size': 0}, r'batch_size must be an integer in \[1, 1500\]'),
    (('sgd', {'lr': [0.1]}), {'num_epochs': 0}, 'num_epochs must be an integer >= 1'),
    (('sgd', {'lr': [0.1]}), {'backend': 'tensorflow'},
     'sweep does not run on tensorflow: it runs on numpy, torch'),
    (('sgd', {'lr': [0.1]}), {'backend': 'mxnet'}, 'sweep does not run on mxnet: it runs on numpy, torch'),
    (('adamw', {'lr': [0.1]}), {}, "unknown optimizer 'adamw'"),
])
def test_bad_input_is_a_value_error_naming_it(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sweep(*args, **kwargs)


def test_one_number_is_a_grid_of_one_value_numpy_scalars_too():
    for value in (0.05, np.float32(0.05), np.float64(0.05)):
        (run,) = sweep('sgd', {'lr': value}, num_epochs=1).runs
        assert run['hyperparams']['lr'] == pytest.approx(0.05) and 0.24 < run['final_loss'] < 0.26


def test_a_sweep_too_large_for_memory_is_refused_before_allocating(monkeypatch):
    def no_allocation(*a, **k):
        raise AssertionError('allocated before the memory check')
    monkeypatch.setattr(sweep_module, 'array_api', no_allocation)
    lrs = list(np.geomspace(1e-4, 1, 30000))
    with pytest.raises(ValueError, match=r'300000 runs would need about (\d+\.\d) GiB \(limit 2 GiB\)') as e:
        sweep('adam', {'lr': lrs}, seeds=range(10))
    assert float(e.value.args[0].split('about ')[1].split(' GiB')[0]) > 2


def test_the_least_squares_optimum_is_the_dashed_line():
    loader, _ = airfoil.get_data_ch11(10)
    X, y = loader.arrays
    X1 = np.c_[X.astype(np.float64), np.ones(len(X))]
    theta = np.linalg.lstsq(X1, y.astype(np.float64), rcond=None)[0]
    assert np.mean((X1 @ theta - y) ** 2) / 2 == pytest.approx(LEAST_SQUARES_LOSS, abs=5e-6)
    # and no run of a sweep goes below it (beyond float32 noise)
    runs = sweep('adagrad', {'lr': list(np.geomspace(0.01, 1, 8))}, seeds=(0, 1)).runs
    assert min(r['final_loss'] for r in runs) >= LEAST_SQUARES_LOSS - 1e-4


def test_robustness_width_is_the_unbroken_range_within_one_percent_of_the_best():
    values = np.array([0.001, 0.01, 0.1, 1.0, 10.0])
    assert robustness_width(values, np.array([0.5, 0.2415, 0.24, 0.3, 0.2401])) == pytest.approx(10)
    assert robustness_width(values, np.array([0.5, 0.3, 0.24, 0.3, np.inf])) == 1.0
    assert robustness_width(values, np.array([0.241, 0.241, 0.24, 0.2423, 0.25])) == pytest.approx(1000)
    runs = [{'optimizer': 'sgd', 'hyperparams': {'lr': lr}, 'seed': s, 'final_loss': f,
             'diverged': f == np.inf, 'losses': [f], 'diverged_epoch': None}
            for lr, fs in [(0.01, (0.30, 0.32, 0.31)), (0.1, (0.25, 0.2501, 0.26)), (1.0, (0.2502, np.inf, 0.25))]
            for s, f in enumerate(fs)]
    (row,) = summarize(runs)
    assert row['best'] == 0.1 and row['median_final_loss'] == 0.2501
    assert row['width'] == pytest.approx(10) and row['diverged'] == 1 and row['runs'] == 9


def test_torch_sweep_restores_the_thread_setting():
    torch = pytest.importorskip('torch')
    before = torch.get_num_threads()
    sweep('sgd', {'lr': [0.05]}, backend='torch')
    assert torch.get_num_threads() == before


# ---------------------------------------------------------------- command line

def test_cli_prints_a_row_per_rule_and_writes_json_and_the_figure(tmp_path, capsys):
    js, out = tmp_path / 'runs.json', tmp_path / 'figs'
    assert main(['sweep', 'sgd,adadelta', '--lr', '0.005:0.05:3', '--seeds', '2',
                 '--out', str(out), '--json', str(js)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:2] == ['optimizer', 'swept']
    sgd_row = next(line for line in printed if line.startswith('sgd '))
    assert sgd_row.split()[1] == 'lr'
    assert next(line for line in printed if line.startswith('adadelta ')).split()[1:3] == ['-', '-']
    runs = json.loads(js.read_text())
    assert all(set(r) == KEYS for r in runs)
    assert [(r['optimizer'], r['hyperparams'].get('lr'), r['seed']) for r in runs] == [
        ('sgd', pytest.approx(0.005), 0), ('sgd', pytest.approx(0.005), 1),
        ('sgd', pytest.approx(0.005 * 10 ** 0.5), 0), ('sgd', pytest.approx(0.005 * 10 ** 0.5), 1),
        ('sgd', pytest.approx(0.05), 0), ('sgd', pytest.approx(0.05), 1),
        ('adadelta', None, 0), ('adadelta', None, 1)]
    assert runs[-1]['hyperparams'] == {'rho': 0.9}
    png = out / 'sweep-sgd-adadelta-numpy.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert sorted(p.name for p in out.iterdir()) == ['.d2l-optim-manifest.json', png.name]  # + what we wrote
    # the printed best agrees with the JSON: the lr whose median final loss over seeds is lowest
    med = {}
    for r in runs[:6]:
        med.setdefault(r['hyperparams']['lr'], []).append(r['final_loss'])
    assert float(sgd_row.split()[2]) == pytest.approx(min(med, key=lambda k: np.median(med[k])), rel=1e-3)
    assert float(sgd_row.split()[3]) == pytest.approx(min(np.median(v) for v in med.values()), abs=1e-5)


def test_cli_json_writes_null_for_a_diverged_loss(tmp_path):
    js = tmp_path / 'r.json'
    assert main(['sweep', 'sgd', '--lr', '0.05,1e5', '--seeds', '1', '--out', str(tmp_path),
                 '--json', str(js)]) == 0
    text = js.read_text()
    assert 'Infinity' not in text and 'NaN' not in text
    good, bad = json.loads(text)
    assert bad['diverged'] and bad['diverged_epoch'] == 1 and not good['diverged']


def test_a_rule_whose_every_run_diverged_names_no_best_value(tmp_path, capsys):
    assert main(['sweep', 'sgd,adagrad', '--lr', '3,1e5', '--seeds', '1', '--epochs', '1',
                 '--out', str(tmp_path)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert rows['sgd'].split()[1:] == ['lr', '-', 'all', 'diverged', '-', '2/2']
    assert rows['adagrad'].split()[1:3] == ['lr', '3']        # its lr 3 run converges


def test_the_figure_is_written_atomically(tmp_path, monkeypatch):
    import matplotlib.figure

    def interrupted(self, f, **kw):
        f.write(b'\x89PNG half a file')
        raise KeyboardInterrupt
    monkeypatch.setattr(matplotlib.figure.Figure, 'savefig', interrupted)
    out = tmp_path / 'figs'
    try:                                  # the CLI may report Ctrl-C itself (non-zero exit)
        assert main(['sweep', 'sgd', '--lr', '0.01,0.05', '--seeds', '1', '--out', str(out)]) != 0
    except KeyboardInterrupt:
        pass
    assert list(out.iterdir()) == []      # neither the PNG nor its temporary file


@pytest.mark.parametrize('argv, message', [
    (['sweep', 'sgd'], 'the grid is empty; give at least one of --lr'),
    (['sweep', 'sgd', '--lr', '1e-4:1'], "--lr '1e-4:1' is malformed; write LO:HI:N"),
    (['sweep', 'sgd', '--lr', 'a:1:3'], "--lr 'a:1:3' is malformed"),
    (['sweep', 'sgd', '--lr', '1:0.1:5'], 'LO must be smaller than HI, got 1 >= 0.1'),
    (['sweep', 'sgd', '--lr', '0.1:0.1:5'], 'LO must be smaller than HI'),
    (['sweep', 'sgd', '--lr', '0.01:1:0'], 'N must be >= 1, got 0'),
    (['sweep', 'sgd', '--lr', '0:1:3'], 'LO must be a finite number > 0'),
    (['sweep', 'sgd', '--lr', '0.1,x'], "--lr value 1 'x' is not a number"),
    (['sweep', 'sgd', '--lr', '0.1,-0.5'], r'grid value lr\[1\] = -0.5 is invalid: lr must be > 0'),
    (['sweep', 'rmsprop', '--lr', '0.01', '--gamma', '0.5,1.5'], r'gamma\[1\] = 1.5 is invalid'),
    (['sweep', 'adadelta', '--lr', '0.1'], '--lr applies to none of adadelta'),
    (['sweep', 'sgd', '--lr', '0.1', '--seeds', '0'], '--seeds must be >= 1, got 0'),
    (['sweep', 'sgd', '--lr', '0.1', '--backend', 'tensorflow'], 'sweep does not run on tensorflow'),
    (['sweep', 'nope', '--lr', '0.1'], "unknown optimizer 'nope'"),
    (['sweep', 'adam', '--lr', '1e-4:1:40000', '--seeds', '10'], r'would need about \d+\.\d GiB'),
    (['sweep', 'adam', '--lr', '1e-4:1:1000000000'], r'N = 1000000000 values are more runs than one sweep'),
    (['sweep', 'adam', '--lr', '1e-4:1:20000', '--beta1', '0.1:0.9:20000'],   # refused before the
     r'sweep of 1200000000 runs would need about'),                             # grid is built
    (['sweep', 'sgd', '--lr', '1e-4:inf:3'], 'HI must be a finite number, got inf'),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert main(argv + ['--out', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('d2l-optim sweep: error: ')
    assert re.search(message, err), err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- bench goals

def test_bench_judges_the_sweep_and_reproduce_goals():
    from d2l_optim import bench

    def row(backend, k, secs, single, target):
        return {'what': f'sweep K={k}', 'backend': backend, 'optimizer': 'rmsprop', 'runs': k,
                'seconds': secs, 'single_seconds': single, 'ratio': secs / single, 'target': target}
    sweeps = [row('numpy', 100, 0.05, 0.03, 2.0), row('numpy', 1000, 0.6, 0.03, 15.0),
              row('torch', 100, 0.3, 0.2, 3.0),
              {'what': 'sensitivity study', 'backend': 'numpy', 'optimizer': 'all 7', 'runs': 1050,
               'seconds': 1.2, 'single_seconds': None, 'ratio': None, 'target': 10.0}]
    reproduce = [{'backend': 'numpy', 'seconds': 9.0, 'returncode': 0, 'error': ''},
                 {'backend': bench.ALL_BACKENDS_ROW, 'seconds': 47.5, 'returncode': 0, 'error': '',
                  'load': 3.1}]
    goals = bench.sweep_goals(sweeps, reproduce)
    assert [g['met'] for g in goals] == [True, False, True, True, False]
    assert goals[1]['measured'] == '20.00x (0.600 s vs 0.030 s)' and goals[1]['target'] == '<= 15x'
    assert goals[4]['measured'] == '47.5 s, load 3.1' and goals[4]['target'] == '<= 45 s (idle machine)'
    assert goals == bench.goals([], [], sweeps, reproduce)      # the bench's one goals table
    from d2l_optim.bench.tables import sweep_table
    assert '| sweep K=1000 | numpy | 1000 | 0.600 | 0.030 | 20.00x |' in sweep_table(sweeps)


def test_bench_times_sweeps_against_one_run_in_one_process():
    from d2l_optim import bench
    rows = bench.sweep_times(['numpy'], repeats=1)
    assert [(r['what'], r['runs']) for r in rows] == [
        ('sweep K=100', 100), ('sweep K=1000', 1000), ('sensitivity study', 1050)]
    for r in rows[:2]:
        assert r['ratio'] == pytest.approx(r['seconds'] / r['single_seconds'])
    assert all(g['met'] is not None for g in bench.sweep_goals(rows))


# ---------------------------------------------------------------- reproduce section 11.10+

def test_reproduce_has_the_sensitivity_section_after_11_10(tmp_path):
    from d2l_optim.reproduce import reproduce
    from d2l_optim.sections import sensitivity
    assert len(sensitivity.LRS) == len(sensitivity.RHOS) == 30 and len(sensitivity.SEEDS) == 5
    out = tmp_path / 'rep'
    result = reproduce(['numpy'], ['11.10', '11.10+'], out)
    rows = [r for r in result['rows'] if r.section == '11.10+']
    assert [r.experiment for r in rows] == [f'sensitivity-{n}' for n in RULES]
    assert result['rows'][-1].section == '11.10+'              # after 11.10
    assert all(r.book == 'beyond the book' and r.in_range is None and not r.error for r in rows)
    assert '1050 runs as 7 batched sweeps' in rows[0].note
    by = {r.experiment: r.values for r in rows}
    for name, v in by.items():      # every rule gets within 1% of the least-squares optimum
        assert LEAST_SQUARES_LOSS < v['median_final_loss'] < 1.01 * LEAST_SQUARES_LOSS * 1.01, name
        assert v['width'] >= 1
    assert by['sensitivity-adagrad']['width'] > by['sensitivity-adam']['width']   # the lesson
    assert (out / '11.10+-sensitivity-numpy.png').read_bytes()[:4] == b'\x89PNG'
    md = (out / 'report.md').read_text()
    assert '## 11.10+ Beyond the book: learning-rate sensitivity' in md
    assert md.index('## 11.10 ') < md.index('## 11.10+ ')


@pytest.mark.parametrize('argv', [
    ['reproduce', '--backends', 'numpy', '--sections', '11.10+', '--out', 'r'],
    ['sweep', 'sgd', '--lr', '0.01,0.1', '--out', 'r', '--json', 'r/runs.json'],
])
def test_missing_data_is_one_line_before_any_file(argv, tmp_path, monkeypatch, capsys):
    import requests
    empty = tmp_path / 'empty'
    empty.mkdir()
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(empty))
    monkeypatch.setattr(data, 'default_cache_dir', lambda: tmp_path / 'cache')

    def refuse(url, timeout, **kwargs):
        raise requests.ConnectionError('network is unreachable')
    monkeypatch.setattr(requests, 'get', refuse)        # pooch downloads with requests.get
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'airfoil_self_noise.dat' in err and 'Traceback' not in err
    assert not (tmp_path / 'r').exists()
