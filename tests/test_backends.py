"""Every backend runs the chapter the book's way, and one seed draws one curve on all of them.

Parametrized over numpy, torch, tensorflow, mxnet and jax (the ``d2l`` fixture and
``load_or_skip`` of tests/conftest.py); a backend whose framework is missing (or, for MXNet,
cannot run on this Python/NumPy) is skipped with the reason.
"""
from __future__ import annotations

import inspect
import json
import re
import sys

import numpy as np
import pytest

from conftest import load_or_skip
from d2l_optim.backend import BACKENDS, BackendUnavailable, load_backend
from d2l_optim.rules import RULES, Rule

FRAMEWORKS = ['torch', 'tensorflow', 'mxnet', 'jax']
OPTIMUM, GOOD = 0.2417, 0.26         # least-squares optimum (0.24169) and the book's "converged"
BOOK_LINE = re.compile(r'loss: 0\.2[4-5]\d, \d+\.\d{3} sec/epoch')


# ------------------------------------------------------------------ the book's names

BOOK_NAMES = ('plt set_figsize use_svg_display plot Animator Timer arange zeros tensor normal numpy '
              'meshgrid linspace sin cos sinh cosh tanh exp train_2d show_trace_2d linreg squared_loss '
              'evaluate_loss load_array get_data_ch11 train_ch11 train_concise_ch11 download DATA_HUB '
              'DATA_URL sgd sgd_momentum adagrad rmsprop adadelta adam yogi').split()


def test_every_book_name_with_the_books_optimizer_signature(d2l):
    missing = [n for n in BOOK_NAMES if not hasattr(d2l, n)]
    assert not missing
    for rule in ('momentum', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'yogi'):
        assert callable(getattr(d2l, f'init_{rule}_states'))
    on_params = d2l.BACKEND.name in ('torch', 'mxnet')     # these read p.grad, as in the book
    expected = ['params', 'states', 'hyperparams'] if on_params else \
        ['params', 'grads', 'states', 'hyperparams']
    for name in ('sgd', 'sgd_momentum', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'yogi'):
        assert list(inspect.signature(getattr(d2l, name)).parameters) == expected, name


# ------------------------------------------------------------------ 11.8 written the book's way

def book_rmsprop(name: str):
    """The learner's own ``init_rmsprop_states`` and ``rmsprop`` in that framework's idiom,
    and the framework's built-in RMSProp with the book's arguments."""
    if name == 'torch':
        import torch

        def init_rmsprop_states(feature_dim):
            return torch.zeros((feature_dim, 1)), torch.zeros(1)

        def rmsprop(params, states, hyperparams):
            gamma, eps = hyperparams['gamma'], 1e-6
            for p, s in zip(params, states):
                with torch.no_grad():
                    s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
                    p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)
                p.grad.data.zero_()
        return init_rmsprop_states, rmsprop, torch.optim.RMSprop, {'lr': 0.01, 'alpha': 0.9}
    if name == 'tensorflow':
        import tensorflow as tf

        def init_rmsprop_states(feature_dim):
            return tf.Variable(tf.zeros((feature_dim, 1))), tf.Variable(tf.zeros(1))

        def rmsprop(params, grads, states, hyperparams):
            gamma, eps = hyperparams['gamma'], 1e-6
            for p, s, g in zip(params, states, grads):
                s[:].assign(gamma * s + (1 - gamma) * tf.math.square(g))
                p[:].assign(p - hyperparams['lr'] * g / tf.math.sqrt(s + eps))
        return init_rmsprop_states, rmsprop, tf.keras.optimizers.RMSprop, {'learning_rate': 0.01, 'rho': 0.9}
    if name == 'mxnet':
        from mxnet import np as mnp

        def init_rmsprop_states(feature_dim):
            return mnp.zeros((feature_dim, 1)), mnp.zeros(1)

        def rmsprop(params, states, hyperparams):
            gamma, eps = hyperparams['gamma'], 1e-6
            for p, s in zip(params, states):
                s[:] = gamma * s + (1 - gamma) * mnp.square(p.grad)
                p[:] -= hyperparams['lr'] * p.grad / mnp.sqrt(s + eps)
        return init_rmsprop_states, rmsprop, 'rmsprop', {'learning_rate': 0.01, 'gamma1': 0.9}
    if name == 'jax':       # immutable arrays: the adapter's Variable boxes, written with assign
        import jax.numpy as jnp
        import optax
        Variable = load_or_skip('jax').Variable

        def init_rmsprop_states(feature_dim):
            return Variable(jnp.zeros((feature_dim, 1))), Variable(jnp.zeros(1))

        def rmsprop(params, grads, states, hyperparams):
            gamma, eps = hyperparams['gamma'], 1e-6
            for p, s, g in zip(params, states, grads):
                s.assign(gamma * s + (1 - gamma) * jnp.square(g))
                p.assign(p - hyperparams['lr'] * g / jnp.sqrt(s + eps))
        return init_rmsprop_states, rmsprop, optax.rmsprop, {'lr': 0.01, 'gamma': 0.9}

    def init_rmsprop_states(feature_dim):
        return np.zeros((feature_dim, 1)), np.zeros(1)

    def rmsprop(params, grads, states, hyperparams):
        gamma, eps = hyperparams['gamma'], 1e-6
        for p, s, g in zip(params, states, grads):
            s[:] = gamma * s + (1 - gamma) * np.square(g)
            p[:] -= hyperparams['lr'] * g / np.sqrt(s + eps)
    return init_rmsprop_states, rmsprop, 'rmsprop', {'lr': 0.01, 'gamma': 0.9}


def test_section_11_8_as_the_book_writes_it(d2l, capsys):
    init_rmsprop_states, rmsprop, builtin, builtin_hp = book_rmsprop(d2l.BACKEND.name)
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    _, losses = d2l.train_ch11(rmsprop, init_rmsprop_states(feature_dim),
                               {'lr': 0.01, 'gamma': 0.9}, data_iter, feature_dim)
    assert len(losses) == 15 and OPTIMUM <= losses[-1] <= GOOD
    data_iter, _ = d2l.get_data_ch11(batch_size=10)
    _, losses = d2l.train_concise_ch11(builtin, builtin_hp, data_iter)
    assert len(losses) == 15 and OPTIMUM <= losses[-1] <= GOOD
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(BOOK_LINE.fullmatch(line) for line in lines), lines


@pytest.mark.parametrize('name, builtin', [
    ('torch', lambda: __import__('torch').optim.SGD),
    ('tensorflow', lambda: __import__('tensorflow').keras.optimizers.SGD),
    ('mxnet', lambda: 'sgd'),
    ('numpy', lambda: 'sgd'),
])
def test_concise_sgd_has_the_scratch_gradients(name, builtin):
    """One loss, 1/2 (y_hat - y)^2, on every framework: built-in SGD draws the scratch SGD curve
    (the book's PyTorch and TensorFlow tabs use MSE, whose gradients are twice as large)."""
    d2l = load_or_skip(name)
    key = 'lr' if name in ('torch', 'numpy') else 'learning_rate'
    data_iter, _ = d2l.get_data_ch11(10)
    concise = d2l.fit_concise_ch11(builtin(), {key: 0.05}, data_iter, seed=0).losses
    assert np.max(np.abs(np.array(concise) - numpy_curve(RULES['sgd']))) <= 1e-6


def test_book_call_signatures_of_train_concise_ch11(capsys):
    """The book's own calls: torch ``SGD, {'lr': 0.01}`` and Keras ``SGD, {'learning_rate': 0.05}``."""
    torch = pytest.importorskip('torch')
    d2l = load_or_skip('torch')
    data_iter, _ = d2l.get_data_ch11(10)
    d2l.train_concise_ch11(torch.optim.SGD, {'lr': 0.01}, data_iter)
    tf = pytest.importorskip('tensorflow')
    d2l = load_or_skip('tensorflow')
    data_iter, _ = d2l.get_data_ch11(10)
    d2l.train_concise_ch11(tf.keras.optimizers.SGD, {'learning_rate': 0.05}, data_iter)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(BOOK_LINE.fullmatch(line) for line in lines), lines


def test_keras_takes_the_book_era_lr():
    tf = pytest.importorskip('tensorflow')
    d2l = load_or_skip('tensorflow')
    data_iter, _ = d2l.get_data_ch11(10)
    runs = [d2l.fit_concise_ch11(tf.keras.optimizers.SGD, hp, data_iter, seed=3).losses
            for hp in ({'lr': 0.05}, {'learning_rate': 0.05})]
    assert runs[0] == runs[1]
    compiled = d2l.fit_concise_ch11(tf.keras.optimizers.SGD, {'lr': 0.05}, data_iter, seed=3, compile=True)
    assert np.max(np.abs(np.array(compiled.losses) - runs[0])) <= 1e-6
    with pytest.raises(ValueError, match='give either lr or learning_rate, not both'):
        d2l.fit_concise_ch11(tf.keras.optimizers.SGD, {'lr': 0.05, 'learning_rate': 0.05}, data_iter)


# ------------------------------------------------------------------ the framework's own iterator

@pytest.mark.parametrize('name, kind', [('torch', 'DataLoader'), ('tensorflow', 'BatchDataset'),
                                        ('mxnet', 'DataLoader')])
def test_load_array_returns_the_frameworks_iterator_and_trains(name, kind):
    """The harness takes the framework's own iterator (evaluation then loops over it): in the
    same order and from the same weights it draws the NumPy curve."""
    d2l, np_d2l = load_or_skip(name), load_or_skip('numpy')
    arrays = np_d2l.get_data_ch11(10)[0].arrays
    shuffled = d2l.load_array([d2l.tensor(a) for a in arrays], 10)
    assert type(shuffled).__name__.endswith(kind) and len(shuffled) == 150
    in_order = d2l.load_array([d2l.tensor(a) for a in arrays], 100, is_train=False)
    run = d2l.fit_ch11(d2l.adam, d2l.init_adam_states(5), {'lr': 0.01}, in_order, 5, seed=0)
    ref = np_d2l.fit_ch11(np_d2l.adam, np_d2l.init_adam_states(5), {'lr': 0.01},
                          np_d2l.load_array(arrays, 100, is_train=False), 5, seed=0)
    assert len(run.losses) == 15 and np.max(np.abs(np.array(run.losses) - ref.losses)) <= 1e-4
    builtin, hp = book_rmsprop(name)[2:]
    concise = d2l.fit_concise_ch11(builtin, dict(hp, **{next(iter(hp)): 0.05}), in_order, seed=0)
    assert concise.losses[-1] < concise.losses[0] < 1.0


def test_tensorflow_shuffle_buffer_holds_the_whole_data_set():
    """The book's buffer of 1000 keeps the last 500 airfoil rows out of the first draws;
    with a full buffer their mean position in an epoch is ~750."""
    pytest.importorskip('tensorflow')
    d2l = load_or_skip('tensorflow')
    index = np.arange(1500, dtype=np.float32)
    (order, _), = list(d2l.load_array((index, index), 1500))
    positions = np.flatnonzero(order.numpy() >= 1000)
    assert sorted(order.numpy().tolist()) == index.tolist()
    assert positions.mean() < 900        # a 1000-row buffer puts it near 1250


# ------------------------------------------------------------------ 2-D traces on tensors

F_11_6 = lambda x1, x2: 0.1 * x1 ** 2 + 2 * x2 ** 2  # noqa: E731


def tensor_trainers(d2l):
    """The 2-D cells of 11.3 and 11.6-11.8 made to work on the backend's tensors: the gradient
    gets a shape-(1,) zero of that framework, so from step 1 on x, v and s are its tensors."""
    sqrt, zero = d2l.BACKEND.xp.sqrt, lambda: d2l.zeros(1)

    def gd(eta):
        def gd_2d(x1, x2, s1, s2):
            return x1 - eta * (2 * x1 + zero()), x2 - eta * (4 * x2 + zero()), 0, 0
        return gd_2d

    def momentum(eta, beta):
        def momentum_2d(x1, x2, v1, v2):
            v1 = beta * v1 + 0.2 * x1 + zero()
            v2 = beta * v2 + 4 * x2 + zero()
            return x1 - eta * v1, x2 - eta * v2, v1, v2
        return momentum_2d

    def adagrad(eta):
        def adagrad_2d(x1, x2, s1, s2):
            g1, g2, eps = 0.2 * x1 + zero(), 4 * x2 + zero(), 1e-6
            s1, s2 = s1 + g1 ** 2, s2 + g2 ** 2
            return x1 - eta / sqrt(s1 + eps) * g1, x2 - eta / sqrt(s2 + eps) * g2, s1, s2
        return adagrad_2d

    def rmsprop(eta, gamma):
        def rmsprop_2d(x1, x2, s1, s2):
            g1, g2, eps = 0.2 * x1 + zero(), 4 * x2 + zero(), 1e-6
            s1 = gamma * s1 + (1 - gamma) * g1 ** 2
            s2 = gamma * s2 + (1 - gamma) * g2 ** 2
            return x1 - eta / sqrt(s1 + eps) * g1, x2 - eta / sqrt(s2 + eps) * g2, s1, s2
        return rmsprop_2d
    return gd, momentum, adagrad, rmsprop


TRACES = [  # the book's printed lines (tests/test_traces.py), here from float32 tensors
    ('gd', (0.1,), 'x1: -0.057646, x2: -0.000073'),
    ('momentum', (0.6, 0.5), 'x1: 0.007188, x2: 0.002553'),
    # The book prints x2: -0.186632 (Python floats, x2 = -0.1866322); in float32 the slowly
    # damped oscillation of x2 gathers 6e-7 of rounding, x2 = -0.1866328, on every backend alike.
    ('momentum', (0.6, 0.25), 'x1: -0.126340, x2: -0.186633'),
    ('adagrad', (0.4,), 'x1: -2.382563, x2: -0.158591'),
    # The book's x2 is -1.4e-162, below float32's range: float32 reaches exactly 0.
    ('adagrad', (2,), 'x1: -0.002295, x2: 0.000000'),
    ('rmsprop', (0.4, 0.9), 'x1: -0.010599, x2: 0.000000'),
]


def test_2d_traces_print_identically_on_the_backends_tensors(d2l, capsys):
    trainers = dict(zip(('gd', 'momentum', 'adagrad', 'rmsprop'), tensor_trainers(d2l)))
    for name, args, expected in TRACES:
        results = d2l.train_2d(trainers[name](*args))
        assert capsys.readouterr().out == f'epoch 20, {expected}\n', (name, args)
        assert d2l.BACKEND.to_numpy(results[-1][0]).shape == (1,)      # the backend's tensors
    ax = d2l.show_trace_2d(F_11_6, results)             # floats and shape-(1,) tensors mixed
    xs, ys = ax.lines[-1].get_data()
    assert len(xs) == 21 and (xs[0], ys[0]) == (-5.0, -2.0)
    assert xs[-1] == pytest.approx(-0.010599, abs=1e-6)
    d2l.plt.close('all')


NOISE = {  # the 11.4 cell's noisy gradient, in each framework's normal() signature
    'numpy': lambda d2l: d2l.normal(0.0, 1, (1,)),
    'torch': lambda d2l: d2l.normal(0.0, 1, (1,)).item(),
    'tensorflow': lambda d2l: d2l.normal([1], 0.0, 1),
    'mxnet': lambda d2l: d2l.normal(0.0, 1, (1,)),
    'jax': lambda d2l: d2l.normal(0.0, 1, (1,)),
}


def test_cells_that_mix_floats_and_tensors_plot(d2l, capsys):
    """11.4's noisy SGD (fails on MXNet and TensorFlow with d2l 1.0.3: ragged float/tensor points),
    11.1's plots and 11.3's 1-D trace with 0-d and shape-(1,) tensors."""
    noise = NOISE[d2l.BACKEND.name]

    def sgd(x1, x2, s1, s2, f_grad):
        g1, g2 = f_grad(x1, x2)
        g1 += noise(d2l)
        g2 += noise(d2l)
        return x1 - 0.1 * g1, x2 - 0.1 * g2, 0, 0

    results = d2l.train_2d(sgd, steps=50, f_grad=lambda x1, x2: (2 * x1, 4 * x2))
    assert capsys.readouterr().out.startswith('epoch 50, x1: ')
    ax = d2l.show_trace_2d(lambda x1, x2: x1 ** 2 + 2 * x2 ** 2, results)
    assert len(ax.lines[-1].get_xdata()) == 51
    x = d2l.arange(0.5, 1.5, 0.01)
    ax = d2l.plot(x, [x * d2l.cos(np.pi * x), x * d2l.cos(5 * np.pi * x) + 0.2 * x], 'x', 'risk')
    assert [len(line.get_xdata()) for line in ax.lines] == [100, 100]
    ax = d2l.plot([0.0, 1.0], [d2l.tensor(2.0), d2l.tanh(d2l.tensor(1.0))])
    assert ax.lines[0].get_ydata() == pytest.approx([2.0, np.tanh(1.0)], abs=1e-6)
    c = d2l.tensor(0.5)                                      # 11.3: f(x) = cosh(c x), c a 0-d tensor
    ax = d2l.show_trace([10.0, d2l.tensor(5.0), d2l.tensor([2.5])], lambda x: d2l.cosh(c * x))
    assert ax.lines[1].get_ydata() == pytest.approx(np.cosh(0.5 * np.array([10.0, 5.0, 2.5])), rel=1e-6)
    d2l.plt.close('all')


@pytest.mark.parametrize('name, cls', [('torch', 'RMSprop'), ('tensorflow', 'RMSprop')])
def test_a_builtin_optimizer_by_name(name, cls, capsys):
    d2l = load_or_skip(name)
    data_iter, _ = d2l.get_data_ch11(10)
    hp = book_rmsprop(name)[3]
    by_name = d2l.fit_concise_ch11('rmsprop', dict(hp), data_iter, seed=1)
    by_class = d2l.fit_concise_ch11(book_rmsprop(name)[2], dict(hp), data_iter, seed=1)
    assert by_name.optimizer == 'rmsprop' and by_class.optimizer == cls
    assert by_name.losses == by_class.losses
    with pytest.raises(ValueError, match=r"unknown .* optimizer 'yogi'; choose one of: .*RMSprop, .*SGD"):
        d2l.fit_concise_ch11('yogi', {}, data_iter)


# ------------------------------------------------------------------ one seed, one curve

_numpy_curves: dict = {}


def run_rule(d2l, rule: Rule, hyperparams: dict | None = None, **kwargs):
    """The book's scratch cell for ``rule``, with the book's hyperparameters unless given."""
    data_iter, feature_dim = d2l.get_data_ch11(10)
    states = getattr(d2l, rule.init_name)(feature_dim) if rule.n_states else None
    hp = dict(rule.defaults) if hyperparams is None else hyperparams
    return d2l.fit_ch11(getattr(d2l, rule.book_name), states, hp, data_iter, feature_dim, seed=0, **kwargs)


def numpy_curve(rule: Rule) -> np.ndarray:
    if rule.name not in _numpy_curves:
        _numpy_curves[rule.name] = np.array(run_rule(load_or_skip('numpy'), rule).losses)
    return _numpy_curves[rule.name]


@pytest.mark.parametrize('name', FRAMEWORKS)
def test_one_seed_draws_the_numpy_curve(name, book_rule):
    d2l = load_or_skip(name)
    run = run_rule(d2l, book_rule)
    reference = numpy_curve(book_rule)
    assert len(run.losses) == len(reference) == 15
    assert np.max(np.abs(np.array(run.losses) - reference)) <= 1e-4
    assert OPTIMUM - 1e-4 <= run.final_loss <= GOOD


@pytest.mark.parametrize('rule', ['adam', 'yogi'])
def test_tensorflow_adam_and_yogi_do_not_have_the_books_bugs(rule):
    """The book's TF Adam adds eps to the parameter and never advances t; its TF Yogi uses
    eps 1e-6. Here both agree with NumPy, and t advances once per step, compiled or not."""
    d2l = load_or_skip('tensorflow')
    np_d2l = load_or_skip('numpy')
    for compile_ in (False, True):
        hp = {'lr': 0.01, 't': 1}
        run = run_rule(d2l, RULES[rule], hp, compile=compile_)
        assert hp['t'] == 301                                # 2 epochs of 150 minibatches
        assert np.max(np.abs(np.array(run.losses) - numpy_curve(RULES[rule]))) <= 1e-4
    # One step by hand from w = b = 1 with gradient 2: lr * g / (|g| + eps), eps 1e-6 / 1e-3.
    eps = {'adam': 1e-6, 'yogi': 1e-3}[rule]
    for m in (d2l, np_d2l):
        params = [m.BACKEND.parameter(np.ones((1, 1))), m.BACKEND.parameter(np.ones(1))]
        grads = [m.BACKEND.tensor(np.full((1, 1), 2.0)), m.BACKEND.tensor(np.full(1, 2.0))]
        hp = {'lr': 0.1, 't': 1}
        getattr(m, rule)(params, grads, getattr(m, f'init_{rule}_states')(1), hp)
        assert hp['t'] == 2
        for p in params:
            assert float(m.BACKEND.to_numpy(p).ravel()[0]) == pytest.approx(1 - 0.1 * 2 / (2 + eps), abs=1e-7)


# ------------------------------------------------------------------ not installed

@pytest.mark.parametrize('name', FRAMEWORKS)
def test_a_missing_framework_names_the_install_command(name, monkeypatch):
    monkeypatch.setitem(sys.modules, name, None)             # "import torch" fails as if absent
    monkeypatch.delitem(sys.modules, f'd2l_optim.backends.{name}', raising=False)
    with pytest.raises(BackendUnavailable) as err:
        load_backend(name)
    install = BACKENDS[name][1]
    if name == 'mxnet':     # its adapter explains which Python/NumPy MXNet needs, then the command
        assert 'pip install "d2l-optim[mxnet]"' in str(err.value)
    else:
        assert str(err.value) == (f"backend '{name}' needs {name}, which is not installed; "
                                  f"install it with: {install}")


# ------------------------------------------------------------------ d2l-optim compare

def test_compare_overlays_the_backends_and_reports_the_difference(tmp_path, capsys):
    pytest.importorskip('torch')
    from d2l_optim.cli import main
    out, js = tmp_path / 'figs', tmp_path / 'runs.json'
    assert main(['compare', 'adam', '--backends', 'numpy,torch', '--epochs', '1',
                 '--out', str(out), '--json', str(js)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "adam {'lr': 0.01, 'beta1': 0.9, 'beta2': 0.999}, batch size 10, 1 epochs, seed 0"
    assert lines[1].split() == ['backend', 'final', 'loss', 'sec/epoch', 'max', '|delta|', 'vs', 'numpy']
    rows = {r.split()[0]: r.split()[1:] for r in lines[2:4]}
    assert float(rows['numpy'][2]) == 0 and float(rows['torch'][2]) <= 1e-4
    assert rows['numpy'][0] == rows['torch'][0]                  # final losses, 6 decimals
    assert lines[4] == f'figure: {out / "compare-adam.png"}'
    assert (out / 'compare-adam.png').read_bytes()[:4] == b'\x89PNG'
    runs = json.loads(js.read_text())
    assert [r['backend'] for r in runs] == ['numpy', 'torch']
    assert len(runs[0]['losses']) == 7                           # at 200, 400, ..., 1400 examples
    assert np.max(np.abs(np.subtract(runs[0]['losses'], runs[1]['losses']))) <= 1e-4
    assert runs[0]['optimizer'] == 'adam'
    assert runs[0]['hyperparams'] == {'lr': 0.01, 'beta1': 0.9, 'beta2': 0.999}


@pytest.mark.parametrize('argv, message', [
    (['--backends', 'numpy,caffe'], "unknown backend(s) ['caffe']; choose from: numpy, torch, tensorflow, mxnet, jax"),
    (['--backends', 'numpy,torch'], 'install it with: pip install "d2l-optim[torch]"'),
])
def test_compare_fails_before_training_and_writes_nothing(argv, message, tmp_path, capsys, monkeypatch):
    from d2l_optim.cli import main
    monkeypatch.setitem(sys.modules, 'torch', None)
    monkeypatch.delitem(sys.modules, 'd2l_optim.backends.torch', raising=False)
    files = ['--out', str(tmp_path / 'o'), '--json', str(tmp_path / 'r.json')]
    assert main(['compare', 'sgd', *argv, *files]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ''
    assert list(tmp_path.iterdir()) == []


def test_load_array_names_nan_in_the_data_on_every_backend(d2l):
    """Every backend's ``load_array`` (the framework's own loader on PyTorch, TensorFlow and
    MXNet) names a NaN feature as a data problem, before training can blame the learning rate."""
    from d2l_optim.data import DataError
    X, y = np.ones((20, 3), np.float32), np.ones((20, 1), np.float32)
    X[7, 2] = np.nan
    with pytest.raises(DataError, match=r'features.*nan at row 7, column 2.*a data problem'):
        d2l.load_array((X, y), 5)
    assert len(list(d2l.load_array((np.ones((20, 3), np.float32), y), 5))) == 4
