"""Every class of mistake as a table: the exit code or exception type, a message that holds the
bad value and the fix, no traceback from the CLI, and no file left behind.

One parametrized test per class: CLI mistakes, Python API mistakes, divergence, the NumPy
optimizer classes, data that is missing offline, stale part files. The book-style losses are
in test_book_losses.py and the signals end to end in test_interrupts.py.
"""
import math
import os
import requests
import warnings
from pathlib import Path

import numpy as np
import pytest

from d2l_optim import cli, data, files
from d2l_optim.harness import DivergenceError, diverged
from d2l_optim.optimizers import SGD, Adam, Momentum, RMSprop


def listing(root: Path) -> set:
    return {p.relative_to(root) for p in root.rglob('*')}


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A folder with a file, a folder, broken bench JSON files; the cwd for the command."""
    (tmp_path / 'afile').write_text('x')
    (tmp_path / 'adir').mkdir()
    (tmp_path / 'bad.json').write_text('not json {')
    (tmp_path / 'nokeys.json').write_text('{"imports": []}')
    (tmp_path / 'badrow.json').write_text('{"measurements": [{"backend": "numpy"}]}')
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------ the command line

CLI_MISTAKES = {
    # id: (argv, [what the one line must say: the bad value and the fix])
    'out-is-a-file': (['run', 'sgd', '--out', '{t}/afile'], ['--out', 'afile', 'is a file', 'choose a folder']),
    'out-under-a-file': (['compare-2d', '--out', '{t}/afile/figs'], ['afile', 'is a file', 'choose a folder']),
    'reproduce-out-file': (['reproduce', '--backends', 'numpy', '--out', '{t}/afile'], ['--out', 'is a file']),
    'out-not-writable': (['run', 'sgd', '--out', '{t}/adir/figs'], ['--out', 'adir', 'not writable', 'choose a folder']),
    'out-cannot-be-created': (['run', 'sgd', '--out', '/proc/d2l-optim-figs'],
                              ['--out', '/proc', 'not writable', 'choose a folder']),
    'json-is-a-dir': (['run', 'sgd', '--json', '{t}/adir'], ['--json', 'adir', 'is a folder', 'name a file']),
    'json-not-writable': (['run', 'sgd', '--json', '{t}/adir/runs.json'],
                          ['--json', 'adir', 'not writable', 'choose a folder']),
    'json-cannot-be-created': (['run', 'sgd', '--json', '/proc/d2l-optim-runs.json'],
                               ['--json', '/proc', 'not writable']),
    'json-under-a-file': (['compare', 'sgd', '--backends', 'numpy', '--json', '{t}/afile/x.json'],
                          ['--json', 'afile', 'is a file']),
    'bench-json-is-a-dir': (['bench', '--from-json', '{t}/nokeys.json', '--json', '{t}/adir'], ['--json', 'is a folder']),
    'from-json-missing': (['bench', '--from-json', '{t}/none.json'], ['none.json', 'no such file', 'bench --json']),
    'from-json-is-a-dir': (['bench', '--from-json', '{t}/adir'], ['--from-json', 'adir', 'is a folder', 'bench --json']),
    'reproduce-unknown-section': (['reproduce', '--sections', '12.1'], ['12.1', 'choose from', '11.10+', '11.11']),
    'from-json-not-json': (['bench', '--from-json', '{t}/bad.json'], ['bad.json', 'not a JSON file']),
    'from-json-no-keys': (['bench', '--from-json', '{t}/nokeys.json'], ['nokeys.json', "'measurements'", 'bench --json']),
    'from-json-bad-row': (['bench', '--from-json', '{t}/badrow.json'], ['badrow.json', "'optimizer'"]),
    'seed-negative': (['run', 'sgd', '--seed', '-1'], ['--seed', '-1', '>= 0']),
    'reproduce-seed-negative': (['reproduce', '--seed', '-1'], ['--seed', '-1', '>= 0']),
    'bench-quick-batch-0': (['bench', '--quick', '--batch-sizes', '0'], ['--batch-sizes', "'0'", '>= 1']),
    'bench-quick-repeats-0': (['bench', '--quick', '--repeats', '0'], ['--repeats', '0', '>= 1']),
    'bench-repeats-0': (['bench', '--repeats', '0'], ['--repeats', '0', '>= 1']),
    'bench-optimizer-unsupported': (['bench', '--optimizers', 'sgd,adam'], ['--optimizers', 'sgd', 'rmsprop, adam']),
    'epochs-0': (['run', 'sgd', '--epochs', '0'], ['--epochs', '0', '>= 1']),
    'batch-size-0': (['run', 'sgd', '--batch-size', '0'], ['batch_size', 'got 0', '[1, 1500]']),
    'unknown-flag': (['run', 'sgd', '--lrr', '1'], ['--lrr', '--help']),
    'unknown-optimizer': (['run', 'adamw'], ['adamw', 'choose one of']),
    'flag-for-another-rule': (['run', 'sgd', '--gamma', '0.9'], ['--gamma', 'sgd', '--lr']),
    'unknown-backend': (['reproduce', '--backends', 'numpy', 'theano'], ['theano', 'choose from']),
    'sweep-out-is-a-file': (['sweep', 'sgd', '--lr', '0.01,0.1', '--out', '{t}/afile'], ['--out', 'is a file']),
    'sweep-json-is-a-dir': (['sweep', 'sgd', '--lr', '0.01,0.1', '--json', '{t}/adir'], ['--json', 'is a folder']),
    'lab-out-under-a-file': (['lab', 'build', '--out', '{t}/afile/lab'], ['--out', 'afile', 'is a file']),
    'diverges': (['run', 'momentum', '--lr', '1', '--momentum', '0.99'],
                 ['the loss became', 'in epoch 1', 'smaller learning rate', 'lr=0.1']),
}


@pytest.mark.parametrize('case', CLI_MISTAKES)
def test_cli_mistake_is_one_line_and_exit_2(case, place, capsys, monkeypatch):
    argv, needles = CLI_MISTAKES[case]
    if argv[0] not in cli.COMMANDS:
        pytest.skip(f'no {argv[0]} command in this version')
    argv = [a.replace('{t}', str(place)) for a in argv]
    if case.endswith('-cannot-be-created') and not Path('/proc/self').is_dir():
        pytest.skip('needs Linux /proc: a folder where not even root can create a file')
    if case in ('out-not-writable', 'json-not-writable'):  # as root nothing is unwritable: make the check see it
        from d2l_optim.commands import common
        monkeypatch.setattr(common.os, 'access', lambda p, mode: Path(p).name != 'adir')
    before = listing(place)
    with pytest.raises(SystemExit) if _is_usage(case) else _nothing() as stopped:
        code = cli.main(argv)
    if stopped is not None:
        code = stopped.value.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not _framework_log(line)]
    assert code == 2, err
    assert len(lines) == 1, err
    assert 'Traceback' not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert listing(place) == before            # nothing written, nothing half-written


def test_reproduce_backends_as_one_quoted_argument(place, capsys):
    """``--backends "numpy torch"``: the help says space-separated, so one argument works too."""
    from d2l_optim.commands.reproduce import _split
    assert _split(['numpy torch']) == ['numpy', 'torch']
    assert _split(['numpy,torch', 'mxnet']) == ['numpy', 'torch', 'mxnet']
    code = cli.main(['reproduce', '--backends', 'numpy tensorflow2', '--out', str(place / 'r')])
    assert code == 2 and 'tensorflow2' in capsys.readouterr().err


def _is_usage(case: str) -> bool:
    return case in ('seed-negative', 'reproduce-seed-negative', 'bench-quick-batch-0', 'bench-quick-repeats-0',
                    'bench-repeats-0', 'bench-optimizer-unsupported', 'epochs-0',
                    'unknown-flag')


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _framework_log(line: str) -> bool:
    """TensorFlow's C++ start-up notes on stderr are not ours."""
    return line.startswith(('WARNING: All log messages', 'I0000', 'To enable the following')) \
        or 'cpu_feature_guard' in line


# ------------------------------------------------------------------ the Python API

def _numpy():
    from d2l_optim.backends import numpy as d2l
    return d2l


def _train(optimizer='sgd_momentum', states='init', hp=None, data_iter=None, feature_dim=5,
           num_epochs=1, batch_size=100):
    d2l = _numpy()
    it, _ = d2l.get_data_ch11(batch_size)
    rule = optimizer.replace('sgd_', '')
    if states == 'init':
        states = getattr(d2l, f'init_{rule}_states')(5) if hasattr(d2l, f'init_{rule}_states') else None
    hp = hp if hp is not None else dict(d2l.sgd_momentum.rule.defaults if rule == 'momentum'
                                        else getattr(d2l, optimizer).rule.defaults)
    return d2l.train_ch11(getattr(d2l, optimizer), states, hp, it if data_iter is None else data_iter,
                          feature_dim, num_epochs)


def _batches_of_x():
    it, _ = _numpy().get_data_ch11(100)
    return [X for X, _ in it]


def _generator():
    it, _ = _numpy().get_data_ch11(100)
    return (batch for batch in it)


API_MISTAKES = {
    # id: (call, exception, [bad value and fix in the message])
    'num_epochs-0': (lambda: _train(num_epochs=0), ValueError, ['num_epochs', '0', 'num_epochs=2']),
    'num_epochs-negative': (lambda: _train(num_epochs=-1), ValueError, ['num_epochs', '-1']),
    'num_epochs-float': (lambda: _train(num_epochs=1.5), TypeError, ['num_epochs', '1.5', 'int']),
    'concise-num_epochs-0': (lambda: _numpy().train_concise_ch11('sgd', {'lr': 0.01}, _numpy().get_data_ch11()[0], 0),
                             ValueError, ['num_epochs', '0']),
    'lr-string': (lambda: _train(hp={'lr': '0.01', 'momentum': 0.9}), TypeError,
                  ["hyperparams['lr']", "'0.01'", 'str', 'lr=0.01']),
    'concise-lr-string': (lambda: _numpy().train_concise_ch11('sgd', {'lr': '0.05'}, _numpy().get_data_ch11()[0]),
                          TypeError, ["'lr'", "'0.05'", 'lr=0.05']),
    'lr-inf': (lambda: _train(hp={'lr': math.inf, 'momentum': 0.9}), ValueError, ['lr', 'inf', 'finite']),
    'states-shape': (lambda: _train(states=_numpy().init_momentum_states(4)), ValueError,
                     ['states', '(4, 1)', '(5, 1)', 'init_momentum_states(feature_dim)']),
    'states-count': (lambda: _train('adam', states=_numpy().init_adam_states(5)[:1]), ValueError,
                     ['states', '1 entries', 'init_adam_states(feature_dim)']),
    'states-kind': (lambda: _train(states=_numpy().init_adam_states(5)), ValueError,
                    ['states', 'one array', 'tuple of 2', 'init_momentum_states(feature_dim)']),
    'states-kind-two': (lambda: _train('adam', states=_numpy().init_momentum_states(5)), ValueError,
                        ['states', 'tuple of 2 arrays', 'init_adam_states(feature_dim)']),
    'states-none': (lambda: _train('adagrad', states=None), ValueError,
                    ['states is None', 'init_adagrad_states(feature_dim)']),
    'feature_dim-mismatch': (lambda: _train(feature_dim=4), ValueError, ['feature_dim=4', '5 features', 'feature_dim=5']),
    'data_iter-not-pairs': (lambda: _train(data_iter=_batches_of_x()), TypeError,
                            ['data_iter', '(X, y) pairs', 'ndarray', 'load_array']),
    'data_iter-one-pass': (lambda: _train(data_iter=_generator()), TypeError, ['data_iter', 'one-pass', 'load_array']),
    'data_iter-not-iterable': (lambda: _train(data_iter=42), TypeError, ['data_iter', 'int', 'load_array']),
    'evaluate_loss-not-pairs': (lambda: _numpy().evaluate_loss(lambda X: X, [np.zeros(3)], lambda a, b: a),
                                TypeError, ['data_iter', '(X, y) pairs']),
    'hyperparams-not-dict': (lambda: _train(hp=[0.01]), TypeError, ['hyperparams', 'dict', 'list']),
}


@pytest.mark.parametrize('case', API_MISTAKES)
def test_api_mistake_names_the_argument(case, tmp_path, monkeypatch):
    call, exc, needles = API_MISTAKES[case]
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(exc) as e:
            call()
    for needle in needles:
        assert needle in str(e.value), (needle, str(e.value))
    assert listing(tmp_path) == set()


UNKNOWN_KEYS = {
    # id: (rule, hyperparams, what the warning names)
    'gama-for-gamma': ('rmsprop', {'lr': 0.01, 'gamma': 0.9, 'gama': 0.9}, ["'gama'", "did you mean 'gamma'"]),
    'beta-for-beta1': ('adam', {'lr': 0.01, 'beta': 0.9}, ["'beta'", "did you mean 'beta"]),
    'nothing-close': ('sgd', {'lr': 0.05, 'weight_decay': 0.1}, ["'weight_decay'", 'it reads: lr, eps']),
}


@pytest.mark.parametrize('case', UNKNOWN_KEYS)
def test_unknown_hyperparameter_key_warns_with_the_nearest(case):
    from d2l_optim.hyperparams import validate_hyperparams
    from d2l_optim.rules import get_rule
    rule, hp, needles = UNKNOWN_KEYS[case]
    with pytest.warns(UserWarning) as record:
        validate_hyperparams(hp, get_rule(rule))
    message = str(record[0].message)
    assert all(n in message for n in needles), message
    with warnings.catch_warnings():
        warnings.simplefilter('error')          # a valid set warns about nothing
        validate_hyperparams(dict(get_rule(rule).defaults, eps=1e-6), get_rule(rule))


# ------------------------------------------------------------------ divergence

DIVERGED = {
    # (loss, first evaluation) -> diverged?
    'nan': (math.nan, None, True), 'inf': (math.inf, 0.3, True), 'above-1e6': (2e6, None, True),
    'above-1e3-first': (301.0, 0.3, True), 'just-below': (299.0, 0.3, False), 'normal': (0.25, 0.3, False),
    'large-first': (9e5, 1e4, False),
}


@pytest.mark.parametrize('case', DIVERGED)
def test_diverged_predicate(case):
    loss, first, expected = DIVERGED[case]
    assert diverged(loss, first) is expected


DIVERGING_RUNS = {
    # id: (trainer, hyperparams, [message])  -- finite but exploding, and overflowing
    'momentum-finite-blowup': ('sgd_momentum', {'lr': 1.0, 'momentum': 0.99},
                               ['the loss became', 'epoch 1 of 2', 'lr=0.1']),
    'sgd-overflow': ('sgd', {'lr': 50.0}, ['epoch 1 of 2', 'smaller learning rate', 'lr=5']),
}


@pytest.mark.parametrize('case', DIVERGING_RUNS)
def test_divergence_stops_the_run(case, tmp_path, monkeypatch):
    optimizer, hp, needles = DIVERGING_RUNS[case]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DivergenceError) as e:
        _train(optimizer, hp=hp, num_epochs=2, batch_size=10)
    assert all(n in str(e.value) for n in needles), str(e.value)
    assert listing(tmp_path) == set()


def test_a_finite_blowup_is_measured_against_the_first_evaluation():
    """A loss that is finite and below 1e6 but 1e3 times the first evaluation stops the run."""
    d2l = _numpy()
    it, fd = d2l.get_data_ch11(10)

    calls = []

    def runaway(params, grads, states, hyperparams):      # a learner's optimizer gone wrong
        calls.append(1)
        if len(calls) > 20:         # after the first evaluation (200 examples)
            params[0][...] = 30.0
    with pytest.raises(DivergenceError) as e:
        d2l.train_ch11(runaway, None, {'lr': 0.01}, it, fd, 1, seed=0)
    message = str(e.value)
    assert 'times the first evaluation' in message and 'in epoch 1 of 1' in message, message
    value = float(message.split('became ')[1].split(' ')[0])
    assert 1e3 * 0.1 < value < 1e6


# ------------------------------------------------------------------ the NumPy optimizer classes

def _nan_step():
    opt = Adam(lr=0.1)
    params = {'W': np.ones((2, 2)), 'b': np.zeros(2)}
    opt.update(params, {'W': np.ones((2, 2)), 'b': np.ones(2)})
    snapshot = {k: v.copy() for k, v in params.items()}
    state = {k: tuple(a.copy() for a in v) for k, v in opt.state.items()}
    try:
        opt.update(params, {'W': np.array([[1.0, np.nan], [0.0, 1.0]]), 'b': np.ones(2)})
    finally:    # nothing changed: parameters, states, the step count
        assert all(np.array_equal(params[k], snapshot[k]) for k in params)
        assert all(np.array_equal(a, b) for k in state for a, b in zip(opt.state[k], state[k]))
        assert opt.hyperparams['t'] == 2


OPTIMIZER_MISTAKES = {
    'nan-gradient': (_nan_step, FloatingPointError, ["grads['W']", 'NaN', '1 of 4', 'lower lr']),
    'inf-gradient': (lambda: Momentum().update({'w': np.zeros(3)}, {'w': np.array([0.0, np.inf, 1.0])}),
                     FloatingPointError, ["grads['w']", 'inf', 'lower lr']),
    'lr-inf': (lambda: SGD(lr=math.inf), ValueError, ['SGD', 'lr', 'inf', 'finite']),
    'lr-string': (lambda: SGD(lr='0.1'), TypeError, ['SGD', 'lr', "'0.1'"]),
    'decay-rate-1': (lambda: RMSprop(decay_rate=1.0), ValueError, ['decay_rate', '1.0', '[0, 1)']),
}


@pytest.mark.parametrize('case', OPTIMIZER_MISTAKES)
def test_numpy_optimizer_class_mistake(case):
    call, exc, needles = OPTIMIZER_MISTAKES[case]
    with pytest.raises(exc) as e:
        call()
    assert all(n in str(e.value) for n in needles), str(e.value)


# ------------------------------------------------------------------ data missing offline

@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No data anywhere and a network that refuses; counts the download attempts."""
    empty = tmp_path / 'empty'
    empty.mkdir()
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(empty))
    monkeypatch.setattr(data, 'default_cache_dir', lambda: tmp_path / 'cache')
    tries = []

    def refuse(url, timeout, **kwargs):
        tries.append(timeout)
        raise requests.ConnectionError('network is unreachable')
    monkeypatch.setattr(requests, 'get', refuse)        # pooch downloads with requests.get
    monkeypatch.chdir(tmp_path)
    return tries


OFFLINE_COMMANDS = {
    'reproduce': ['reproduce', '--backends', 'numpy', '--out', 'r'],
    'reproduce-one-section': ['reproduce', '--backends', 'numpy', '--sections', '11.7', '--out', 'r'],
    'compare': ['compare', 'adam', '--backends', 'numpy', '--out', 'r'],
    'run': ['run', 'sgd', '--out', 'r'],
    'bench': ['bench', '--quick', '--backends', 'numpy', '--no-imports', '--json', 'r/b.json'],
    'sweep': ['sweep', 'sgd,adam', '--lr', '1e-3:1:4', '--out', 'r', '--json', 'r/s.json'],
}


@pytest.mark.parametrize('case', OFFLINE_COMMANDS)
def test_missing_data_stops_the_command_once(case, offline, tmp_path, capsys):
    code = cli.main(OFFLINE_COMMANDS[case])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not _framework_log(line)]
    assert code == 2 and len(lines) == 1 and 'Traceback' not in err, err
    assert 'airfoil_self_noise.dat' in lines[0] and '$D2L_OPTIM_DATA_DIR' in lines[0]
    assert offline == [data.CONNECT_TIMEOUT] and data.CONNECT_TIMEOUT <= 10     # one try, 10 s
    assert not (tmp_path / 'r').exists()                                  # no figure, no folder
    assert not list(tmp_path.rglob('*.part'))


def test_one_try_per_file_within_a_command(offline):
    with data.one_try_per_file():
        for _ in range(3):
            with pytest.raises(data.DataError):
                data.download('airfoil')
    assert len(offline) == 1
    with pytest.raises(data.DataError):
        data.download('airfoil')        # a new command (or a Python session) tries again
    assert len(offline) == 2


# ------------------------------------------------------------------ part files

def test_stale_part_files_are_removed_by_the_next_write(tmp_path):
    dead = 2 ** 22 + 12345          # above the default pid_max: no such process
    stale = tmp_path / f'.11.5-gd-numpy.png.d2l-optim-{dead}-k3j2h1ab.part'    # ours, writer gone
    users = [tmp_path / 'notes.txt.part', tmp_path / f'lecture.{dead}.mp4.part',  # not ours: kept,
             tmp_path / f'11.5-gd-numpy.png.{dead}.k3j2h1ab.part']   # an old layout for no file of ours
    live = tmp_path / f'.report.html.d2l-optim-{os.getppid()}-abc123de.part'   # a writer still running
    for p in (stale, live, *users):
        p.write_bytes(b'')
    assert files.remove_stale_parts(tmp_path) == [stale]
    with files.atomic_write(tmp_path / 'fresh.txt') as f:
        f.write('ok')
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(['fresh.txt', live.name,
                                                                 *(p.name for p in users)])


def test_failed_write_leaves_no_part(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with files.atomic_write(tmp_path / 'x.txt') as f:
            f.write('half')
            1 / 0
    assert list(tmp_path.iterdir()) == []
