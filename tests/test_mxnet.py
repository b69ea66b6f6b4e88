"""The MXNet backend: the book's MXNet cells, parity with NumPy, plots of MXNet arrays,
and the one-sentence error where MXNet cannot run.

The import-failure tests fake the failure in a subprocess and run everywhere; the rest
need a working MXNet and skip (with the adapter's own reason) where it cannot run.
"""
import subprocess
import sys

import numpy as np
import pytest

from conftest import load_or_skip

OPTIMUM, CEILING = 0.2417, 0.26    # least-squares optimum (rounded down) and the book's bound


@pytest.fixture(scope='module')
def d2l():
    # The adapter, not bare mxnet: importing mxnet 1.9.1 directly raises AttributeError
    # (np.bool) on numpy >= 1.24; the adapter applies the fix or says why it cannot run.
    return load_or_skip('mxnet')


@pytest.fixture(scope='module')
def mnp(d2l):
    from mxnet import np as mnp
    return mnp


# ------------------------------------------------------------ where MXNet cannot run

def _import_message(fake: str) -> str:
    """Run ``fake`` then import the adapter in a fresh interpreter; return the error line."""
    code = f"""
import sys, numpy
{fake}
from d2l_optim.backend import BackendUnavailable, load_backend
try:
    import d2l_optim.backends.mxnet
except BackendUnavailable as e:
    try:
        load_backend('mxnet')
    except BackendUnavailable as e2:
        assert str(e2) == str(e)
    import d2l_optim.backends.numpy as other          # the other backends are unaffected
    other.get_data_ch11(10)
    print(e)
"""
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


WORKS = ('; mxnet 1.9.1, the last MXNet release, runs only on Python 3.10-3.12 with numpy < 2 '
         '(install there with: pip install "d2l-optim[mxnet]").')


@pytest.mark.parametrize('fake, reason', [
    # a failed import (mxnet missing or broken), with a numpy under 2 so that check passes
    ("numpy.__version__ = '1.26.4'; sys.modules['mxnet'] = None",
     "importing mxnet failed with ModuleNotFoundError: import of mxnet halted; None in sys.modules"),
    ("numpy.__version__ = '2.1.3'", "this environment has numpy 2.1.3"),
    ("sys.version_info = (3, 13, 1, 'final', 0)", "this is Python 3.13"),
])
def test_unavailable_mxnet_fails_with_one_sentence(fake, reason):
    msg = _import_message(fake)
    assert msg == f"The MXNet backend cannot run here because {reason}{WORKS}"
    assert '\n' not in msg and msg.count('. ') == 0   # one sentence


# ------------------------------------------------------------ the book's 11.8 on MXNet

def test_book_section_11_8_rmsprop(d2l, mnp, capsys):
    """A learner's own RMSProp, written the MXNet way (p.grad, p[:] =), then Gluon's."""
    def init_rmsprop_states(feature_dim):
        return (d2l.zeros((feature_dim, 1)), d2l.zeros(1))

    def rmsprop(params, states, hyperparams):
        gamma, eps = hyperparams['gamma'], 1e-6
        for p, s in zip(params, states):
            s[:] = gamma * s + (1 - gamma) * mnp.square(p.grad)
            p[:] -= hyperparams['lr'] * p.grad / mnp.sqrt(s + eps)

    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    _, mine = d2l.train_ch11(rmsprop, init_rmsprop_states(feature_dim),
                             {'lr': 0.01, 'gamma': 0.9}, data_iter, feature_dim)
    _, gluon = d2l.train_concise_ch11('rmsprop', {'learning_rate': 0.01, 'gamma1': 0.9}, data_iter)
    assert len(mine) == len(gluon) == 15
    assert OPTIMUM <= mine[-1] <= CEILING and OPTIMUM <= gluon[-1] <= CEILING, (mine, gluon)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(l.startswith('loss: 0.2') and l.endswith(' sec/epoch') for l in lines)

    # With one seed, the learner's function and the generated d2l.rmsprop give one curve.
    runs = [d2l.fit_ch11(fn, init(feature_dim), {'lr': 0.01, 'gamma': 0.9}, data_iter,
                         feature_dim, seed=0).losses
            for fn, init in ((rmsprop, init_rmsprop_states), (d2l.rmsprop, d2l.init_rmsprop_states))]
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-5)


def test_seeded_parity_with_numpy(d2l, book_rule):
    from d2l_optim.backends import numpy as ref
    losses = []
    for backend in (d2l, ref):
        data_iter, fd = backend.get_data_ch11(10)
        states = getattr(backend, book_rule.init_name)(fd) if book_rule.n_states else None
        losses.append(backend.fit_ch11(getattr(backend, book_rule.book_name), states, dict(book_rule.defaults),
                                       data_iter, fd, seed=0).losses)
    assert len(losses[0]) == 15
    assert np.max(np.abs(np.array(losses[0]) - losses[1])) <= 1e-4
    assert OPTIMUM <= losses[0][-1] <= CEILING


def test_generated_optimizer_takes_params_states_hyperparams_and_writes_in_place(d2l, mnp):
    w, b = d2l.BACKEND.parameter(np.ones((2, 1), np.float32)), d2l.BACKEND.parameter(np.ones(1, np.float32))
    states = d2l.init_adam_states(2)
    hp = {'lr': 0.1}
    for _ in range(2):
        d2l.BACKEND.gradients(lambda: (3 * w).sum() + (2 * b).sum(), [w, b], None)
        d2l.adam([w, b], states, hp)
    assert hp['t'] == 3                                 # t advanced once per step
    assert isinstance(w, mnp.ndarray) and isinstance(states[0][0], mnp.ndarray)
    # Adam's first steps move each weight by lr (v_hat / sqrt(s_hat) = sign(g) for a constant g).
    np.testing.assert_allclose(w.asnumpy(), 1 - 2 * 0.1, rtol=1e-4)
    np.testing.assert_allclose(states[0][0].asnumpy(), 3 * (1 - 0.9 ** 2), rtol=1e-5)   # v of w


def test_gradients_are_written_not_accumulated(d2l):
    from d2l_optim.airfoil import linreg_gradients
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 5)).astype(np.float32), rng.normal(size=10).astype(np.float32)
    w0, b0 = rng.normal(size=(5, 1)).astype(np.float32), np.array([0.5], np.float32)
    B, xp = d2l.BACKEND, d2l.BACKEND.xp
    w, b = B.parameter(w0), B.parameter(b0)
    Xt, yt = B.tensor(X), B.tensor(y)
    loss = lambda: xp.mean(d2l.squared_loss(d2l.linreg(Xt, w, b), yt))  # noqa: E731
    want = linreg_gradients(X.astype(np.float64), y.astype(np.float64), w0, b0)
    for _ in range(2):   # the second backward overwrites p.grad (grad_req 'write')
        got = B.gradients(loss, [w, b], None)
        for g, ref in zip(got, want):
            np.testing.assert_allclose(g.asnumpy(), ref, rtol=1e-5, atol=1e-6)


def test_tensor_copies_and_assign_writes_in_place(d2l, mnp):
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = d2l.tensor(a)
    a[0, 0] = 100.0
    assert t.dtype == np.float32 and t.asnumpy()[0, 0] == 0 and a.flags.writeable
    assert d2l.tensor(np.float32(3)).shape == () and d2l.tensor([1, 2]).asnumpy().tolist() == [1, 2]
    p = d2l.BACKEND.parameter(np.zeros((2, 1), np.float32))
    before = p
    d2l.BACKEND.assign(p, mnp.array([[2.0], [4.0]]))   # same shape
    assert p is before and p.asnumpy().ravel().tolist() == [2.0, 4.0]
    d2l.BACKEND.assign(p, mnp.array(1.5))              # a 0-d value broadcasts, as p[:] = v does
    assert p.asnumpy().ravel().tolist() == [1.5, 1.5]
    d2l.BACKEND.assign(p, 3.0)
    assert p.asnumpy().ravel().tolist() == [3.0, 3.0]


# ------------------------------------------------------------ Gluon's own optimizers

def test_concise_gluon_sgd_matches_scratch_sgd(d2l):
    """Gluon SGD is the same rule: this checks Dense's (1, in) weight layout and the batch rescale."""
    data_iter, fd = d2l.get_data_ch11(10)
    scratch = d2l.fit_ch11(d2l.sgd, None, {'lr': 0.05}, data_iter, fd, seed=0).losses
    gluon = d2l.fit_concise_ch11('sgd', {'learning_rate': 0.05}, data_iter, seed=0).losses
    np.testing.assert_allclose(gluon, scratch, atol=1e-5)
    import mxnet                                    # an Optimizer object works as the trainer too
    by_object = d2l.fit_concise_ch11(mxnet.optimizer.SGD(learning_rate=0.05), {}, data_iter, seed=0)
    np.testing.assert_allclose(by_object.losses, scratch, atol=1e-5)


@pytest.mark.parametrize('trainer, hp', [('adam', {'learning_rate': 0.01}),
                                         ('adagrad', {'learning_rate': 0.1}),
                                         ('adadelta', {'rho': 0.9})])
def test_concise_gluon_trainers_converge(d2l, trainer, hp):
    data_iter, _ = d2l.get_data_ch11(10)
    losses = d2l.fit_concise_ch11(trainer, hp, data_iter, seed=0).losses
    assert OPTIMUM <= losses[-1] <= CEILING, losses


def test_compile_hybridizes_the_concise_step_only(d2l):
    data_iter, fd = d2l.get_data_ch11(10)
    hp = {'learning_rate': 0.01, 'gamma1': 0.9}
    eager = d2l.fit_concise_ch11('rmsprop', hp, data_iter, seed=0).losses
    traced = d2l.fit_concise_ch11('rmsprop', hp, data_iter, seed=0, compile=True).losses
    np.testing.assert_allclose(traced, eager, atol=1e-6)
    step, _ = d2l.BACKEND.concise('sgd', {'learning_rate': 0.1}, np.zeros((5, 1), np.float32),
                                  np.zeros(1, np.float32))
    assert d2l.BACKEND.compile(step) is step and all(b._active for b in step.blocks)
    with pytest.raises(ValueError, match='applies to train_concise_ch11 only'):
        d2l.fit_ch11(d2l.sgd, None, {'lr': 0.05}, data_iter, fd, compile=True)


def test_concise_unknown_trainer_names_the_choices(d2l):
    data_iter, _ = d2l.get_data_ch11(10)
    with pytest.raises(ValueError, match=r"unknown Gluon optimizer 'rmsprob'; choose one of: adadelta, adagrad, adam, .*rmsprop, sgd"):
        d2l.train_concise_ch11('rmsprob', {'learning_rate': 0.01}, data_iter)


def test_load_array_is_gluons_dataloader_and_trains(d2l, mnp):
    from mxnet import gluon
    from d2l_optim.data import read_airfoil
    data = read_airfoil()[:1500]
    it = d2l.load_array((d2l.tensor(data[:, :-1]), data[:, -1]), 150)
    assert isinstance(it, gluon.data.DataLoader) and len(it) == 10
    X, y = next(iter(it))
    assert isinstance(X, mnp.ndarray) and X.shape == (150, 5) and y.shape == (150,)
    # evaluate_loss walks the loader batch by batch here (it is not the core's ArrayLoader)
    losses = d2l.fit_ch11(d2l.adam, d2l.init_adam_states(5), {'lr': 0.05}, it, 5, 5).losses
    assert len(losses) == 12 and OPTIMUM <= losses[-1] <= CEILING


# ------------------------------------------------------------ plots of MXNet arrays

def test_plot_takes_mxnet_arrays_and_mixed_lists(d2l, mnp):
    x = d2l.arange(0.5, 1.5, 0.25)
    ax = d2l.plot(x, [d2l.cos(x), x * 2], 'x', 'f(x)')
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.0, 1.5, 2.0, 2.5])
    # a ragged list: floats, 0-d and shape-(1,) arrays, as the book's cells produce
    ax = d2l.plot([0, 1, 2], [0.5, mnp.array([1.0]), mnp.array(2.0)])
    assert ax.lines[0].get_ydata().tolist() == [0.5, 1.0, 2.0]
    d2l.plt.close('all')


def test_train_2d_and_show_trace_2d_with_noisy_shape_1_gradients(d2l, mnp, capsys):
    """The book's 11.4 SGD adds d2l.normal(0, 1, (1,)) to float gradients: a ragged trace."""
    from mxnet import npx
    npx.random.seed(0)
    d2l.plt.close('all')

    def f(x1, x2):
        return x1 ** 2 + 2 * x2 ** 2

    def f_grad(x1, x2):
        return 2 * x1, 4 * x2

    def sgd(x1, x2, s1, s2, f_grad):
        g1, g2 = f_grad(x1, x2)
        g1 += d2l.normal(0.0, 1, (1,))
        g2 += d2l.normal(0.0, 1, (1,))
        return x1 - 0.1 * g1, x2 - 0.1 * g2, 0, 0

    results = d2l.train_2d(sgd, steps=50, f_grad=f_grad)
    assert isinstance(results[0][0], float) and results[1][0].shape == (1,)
    ax = d2l.show_trace_2d(f, results)
    want = [a if isinstance(a, float) else float(a.asnumpy()[0]) for a, _ in results]
    np.testing.assert_allclose(ax.lines[-1].get_xdata(), want, rtol=1e-6)
    assert len(ax.lines[-1].get_xdata()) == 51
    end = capsys.readouterr().out.strip()
    assert end == f'epoch 50, x1: {want[-1]:f}, x2: {float(results[-1][1].item()):f}'
    d2l.plt.close('all')


def test_gd_and_show_trace_with_mxnet_functions(d2l, capsys):
    """11.3 with an MXNet-valued f and gradient: 0-d arrays come back, the trace plots."""
    import math
    c = d2l.tensor(0.15 * math.pi)
    xs = d2l.gd_1d(2, lambda x: d2l.cos(c * x) - c * x * d2l.sin(c * x))
    assert capsys.readouterr().out.strip() == 'epoch 10, x: -1.528165'
    ax = d2l.show_trace(xs, lambda x: x * d2l.cos(c * x))
    np.testing.assert_allclose(ax.lines[1].get_xdata(), xs)
    d2l.plt.close('all')
