"""compile=True: traced once, the same losses as eager, and Adam's t still advancing once per step."""
import json

import numpy as np
import pytest

from conftest import load_or_skip
from d2l_optim.cli import main

# 300 rows in batches of 8: a last batch of 4 every epoch; 3 epochs evaluate at 200, 600, 800 examples
N, BATCH, EPOCHS = 300, 8, 3
STEPS = EPOCHS * -(-N // BATCH)


def _count_traces(monkeypatch, backend):
    """Wrap backend.compile so each run of the Python body is counted: a traced function
    runs it once per trace, an eager one on every call."""
    runs = []
    real = backend.compile

    def spy(fn):
        def counted(*args):
            runs.append(1)
            return fn(*args)
        counted.blocks = getattr(fn, 'blocks', None)
        return real(counted)
    monkeypatch.setattr(backend, 'compile', spy)
    return runs


def _assert_same_curve(a, b, tol=1e-5):
    assert len(a.losses) == len(b.losses) == 3
    assert np.max(np.abs(np.array(a.losses) - np.array(b.losses))) <= tol


@pytest.mark.parametrize('opt', ['adam', 'rmsprop'])
def test_tensorflow_scratch_compiled_matches_eager_and_traces_once(opt, monkeypatch):
    d2l = load_or_skip('tensorflow')
    traces = _count_traces(monkeypatch, d2l.BACKEND)
    data_iter, fd = d2l.get_data_ch11(BATCH, n=N)
    runs, hps = [], []
    for compile in (False, True):
        hp = {'lr': 0.01} if opt == 'adam' else {'lr': 0.01, 'gamma': 0.9}
        runs.append(d2l.fit_ch11(getattr(d2l, opt), getattr(d2l, f'init_{opt}_states')(fd), hp,
                                 data_iter, fd, EPOCHS, seed=3, compile=compile))
        hps.append(hp)
    _assert_same_curve(*runs)
    assert len(traces) == 1                         # the odd last batch did not retrace
    if opt == 'adam':
        assert hps[0]['t'] == hps[1]['t'] == STEPS + 1      # t advanced once per step
    else:
        assert hps[0] == hps[1] == {'lr': 0.01, 'gamma': 0.9}   # no stray 't'


def test_a_learners_own_adam_keeps_counting_when_compiled(monkeypatch):
    """The book's cells write their own optimizer and advance hyperparams['t'] themselves."""
    d2l = load_or_skip('tensorflow')
    import tensorflow as tf
    traces = _count_traces(monkeypatch, d2l.BACKEND)

    def adam(params, grads, states, hyperparams):
        b1, b2, t = 0.9, 0.999, hyperparams['t']
        for p, (v, s), g in zip(params, states, grads):
            v.assign(b1 * v + (1 - b1) * g)
            s.assign(b2 * s + (1 - b2) * tf.square(g))
            p.assign_sub(hyperparams['lr'] * (v / (1 - b1 ** t)) / (tf.sqrt(s / (1 - b2 ** t)) + 1e-6))
        hyperparams['t'] += 1

    data_iter, fd = d2l.get_data_ch11(BATCH, n=N)
    runs, hps = [], []
    for compile in (False, True):
        hp = {'lr': 0.01, 't': 1}
        runs.append(d2l.fit_ch11(adam, d2l.init_adam_states(fd), hp, data_iter, fd, EPOCHS,
                                 seed=5, compile=compile))
        hps.append(hp)
    _assert_same_curve(*runs)
    assert hps[0]['t'] == hps[1]['t'] == STEPS + 1 and len(traces) == 1
    # and it is the core's Adam, step for step
    core = d2l.fit_ch11(d2l.adam, d2l.init_adam_states(fd), {'lr': 0.01}, data_iter, fd, EPOCHS, seed=5)
    _assert_same_curve(core, runs[1])


def test_tensorflow_concise_compiled_matches_eager(monkeypatch):
    d2l = load_or_skip('tensorflow')
    traces = _count_traces(monkeypatch, d2l.BACKEND)
    data_iter, _ = d2l.get_data_ch11(BATCH, n=N)
    runs = [d2l.fit_concise_ch11('Adam', {'lr': 0.01}, data_iter, EPOCHS, seed=1, compile=c)
            for c in (False, True)]
    _assert_same_curve(*runs)
    assert len(traces) == 1


def test_mxnet_concise_hybridizes_and_scratch_says_where_compile_works(monkeypatch):
    d2l = load_or_skip('mxnet')
    data_iter, fd = d2l.get_data_ch11(BATCH, n=N)
    runs = [d2l.fit_concise_ch11('rmsprop', {'learning_rate': 0.01, 'gamma1': 0.9}, data_iter,
                                 EPOCHS, seed=2, compile=c) for c in (False, True)]
    _assert_same_curve(*runs)
    with pytest.raises(ValueError, match='train_concise_ch11'):
        d2l.fit_ch11(d2l.adam, d2l.init_adam_states(fd), {'lr': 0.01}, data_iter, fd, 1, compile=True)


@pytest.mark.parametrize('name', ['numpy', 'torch'])
def test_backends_without_compile_name_the_ones_with_it(name):
    d2l = load_or_skip(name)
    data_iter, fd = d2l.get_data_ch11(BATCH, n=N)
    msg = (f'compile=True is not available on the {name} backend; it is on: tensorflow '
           r'\(tf.function.*\); mxnet \(Gluon hybridize, train_concise_ch11 only\)')
    with pytest.raises(ValueError, match=msg):
        d2l.train_ch11(d2l.sgd, None, {'lr': 0.05}, data_iter, fd, 1, compile=True)
    with pytest.raises(ValueError, match=msg):
        d2l.train_concise_ch11('sgd' if name == 'numpy' else 'SGD', {'lr': 0.05}, data_iter, 1,
                               compile=True)


def test_cli_run_compile_flag(tmp_path, capsys):
    load_or_skip('tensorflow')
    paths = [tmp_path / 'eager.json', tmp_path / 'compiled.json']
    for path, extra in zip(paths, ([], ['--compile'])):
        assert main(['run', 'adam', '--backend', 'tensorflow', '--seed', '0', '--epochs', '1',
                     '--batch-size', '100', '--json', str(path)] + extra) == 0
    eager, compiled = (json.loads(p.read_text())[0] for p in paths)
    assert np.max(np.abs(np.array(eager['losses']) - np.array(compiled['losses']))) <= 1e-5
    assert main(['run', 'adam', '--compile']) == 2
    assert 'compile=True is not available on the numpy backend' in capsys.readouterr().err
