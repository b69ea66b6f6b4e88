"""The NumPy optimizer classes, the 2-D comparison and the two-layer network (issue 6)."""
import math
import subprocess
import sys

import numpy as np
import pytest

from d2l_optim import twolayer, zoo
from d2l_optim.cli import main as cli_main
from d2l_optim.ops import numpy_ops
from d2l_optim.optimizers import (OPTIMIZERS, SGD, AdaGrad, Adadelta, Adam, Momentum, Nesterov,
                                  RMSprop, Yogi)
from d2l_optim.rules import NESTEROV, get_rule

# class, constructor arguments, core rule, the same hyperparameters in the book's names
CASES = [
    (SGD, dict(lr=0.1), 'sgd', dict(lr=0.1)),
    (Momentum, dict(lr=0.05, momentum=0.8), 'momentum', dict(lr=0.05, momentum=0.8)),
    (Nesterov, dict(lr=0.05, momentum=0.8), NESTEROV, dict(lr=0.05, momentum=0.8)),
    (AdaGrad, dict(lr=0.3), 'adagrad', dict(lr=0.3)),
    (RMSprop, dict(lr=0.01, decay_rate=0.95), 'rmsprop', dict(lr=0.01, gamma=0.95)),
    (Adam, dict(lr=0.02, beta1=0.8, beta2=0.99), 'adam', dict(lr=0.02, beta1=0.8, beta2=0.99)),
    (Adadelta, dict(rho=0.7), 'adadelta', dict(rho=0.7)),
    (Yogi, dict(lr=0.02, beta1=0.8, beta2=0.99), 'yogi', dict(lr=0.02, beta1=0.8, beta2=0.99)),
]
SHAPES = {'W': (4, 3), 'b': (3,), 'c': ()}


def test_every_class_is_covered():
    assert sorted(c[0].__name__ for c in CASES) == sorted(OPTIMIZERS)


@pytest.mark.parametrize('cls, kwargs, rule_name, book_hp', CASES, ids=[c[0].__name__ for c in CASES])
def test_class_matches_core_rule_step_for_step(cls, kwargs, rule_name, book_hp):
    rng = np.random.default_rng(7)
    params = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    arrays = {k: v for k, v in params.items()}             # the same objects: updates are in place
    rule = get_rule(rule_name)
    ref = {k: v.copy() for k, v in params.items()}
    ref_state = {k: rule.init(v, numpy_ops) for k, v in ref.items()}
    opt = cls(**kwargs)
    for t in range(1, 6):
        grads = {k: rng.normal(size=s) for k, s in SHAPES.items()}
        opt.update(params, grads)
        for k in ref:
            ref[k], ref_state[k] = rule.update(ref[k], grads[k], ref_state[k], book_hp, t, numpy_ops)
            np.testing.assert_allclose(params[k], ref[k], rtol=0, atol=1e-12)
            assert params[k] is arrays[k]
    assert opt.hyperparams.get('t') == (6 if rule.uses_t else None)   # once per update, not per key


# ------------------------------------------------------------ Nesterov, independently

def test_nesterov_equals_the_courses_form_at_a_fixed_lr():
    """u <- m u - lr g; x <- x + m u - lr g (lr inside the velocity), written here by hand."""
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=5)
    grads = [rng.normal(size=5) for _ in range(6)]
    lr, m = 0.07, 0.85
    x, u = x0.copy(), np.zeros(5)
    params, opt = {'x': x0.copy()}, Nesterov(lr=lr, momentum=m)
    for g in grads:
        u = m * u - lr * g
        x = x + m * u - lr * g
        opt.update(params, {'x': g})
        np.testing.assert_allclose(params['x'], x, rtol=0, atol=1e-12)


def test_nesterov_equals_pytorch_nesterov_true():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(4)
    x0 = rng.normal(size=(3, 2))
    grads = [rng.normal(size=(3, 2)) for _ in range(5)]
    w = torch.tensor(x0.copy(), requires_grad=True)
    topt = torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    params, opt = {'w': x0.copy()}, Nesterov(lr=0.1, momentum=0.9)
    for g in grads:
        w.grad = torch.tensor(g)
        topt.step()
        opt.update(params, {'w': g})
    np.testing.assert_allclose(params['w'], w.detach().numpy(), rtol=0, atol=1e-12)


# ------------------------------------------------------------ state, keys, shapes

def test_state_is_lazy_and_shaped_per_key():
    params = {'W1': np.zeros((5, 16)), 'b1': np.zeros(16), 'W2': np.zeros((16, 1))}
    grads = {k: np.ones_like(v) for k, v in params.items()}
    adam, mom, sgd = Adam(), Momentum(), SGD()
    assert adam.state == {} and mom.state == {}
    adam.update(params, grads)
    mom.update(params, grads)
    sgd.update(params, grads)
    for k, p in params.items():
        v, s = adam.state[k]
        assert v.shape == s.shape == p.shape
        assert mom.state[k].shape == p.shape
        np.testing.assert_allclose(mom.state[k], 1.0)            # v = 0.9 * 0 + g
        np.testing.assert_allclose(s, 0.001)                     # s = 0.001 * g^2
    assert sgd.state == {}
    # a key that appears later gets its own state; the others keep theirs
    params['b2'] = np.zeros(1)
    grads['b2'] = np.full(1, 2.0)
    mom.update(params, grads)
    np.testing.assert_allclose(mom.state['b2'], 2.0)
    np.testing.assert_allclose(mom.state['W1'], 1.9)


def test_adam_counts_updates_not_keys():
    params = {k: np.zeros(2) for k in 'abc'}
    opt = Adam(lr=0.1)
    for _ in range(2):
        opt.update(params, {k: np.ones(2) for k in 'abc'})
    assert opt.hyperparams['t'] == 3
    # every key saw t = 1, 2: after two steps of g = 1 the bias-corrected step is lr each time
    for k in 'abc':
        np.testing.assert_allclose(params[k], -2 * 0.1 / (1 + 1e-6), atol=1e-12)
    opt.reset()
    assert opt.state == {} and 't' not in opt.hyperparams


@pytest.mark.parametrize('grads, message', [
    ({'W': np.ones((2, 3))}, r"no gradient for \['b'\]"),
    ({'W': np.ones((2, 3)), 'b': np.ones(3), 'B': np.ones(3)}, r"gradients for unknown key\(s\) \['B'\]"),
    ({'W': np.ones((2, 3)), 'bb': np.ones(3)},
     r"no gradient for \['b'\]; gradients for unknown key\(s\) \['bb'\]"),
    ({'W': np.ones((3, 2)), 'b': np.ones(3)},
     r"grads\['W'\] has shape \(3, 2\), but params\['W'\] has shape \(2, 3\)"),
    ({'W': np.ones((2, 3)), 'b': np.ones((1, 3))}, r"grads\['b'\] has shape \(1, 3\)"),
])
def test_bad_keys_and_shapes_name_the_key(grads, message):
    params = {'W': np.zeros((2, 3)), 'b': np.zeros(3)}
    before = {k: v.copy() for k, v in params.items()}
    opt = Adam()
    with pytest.raises(ValueError, match=message):
        opt.update(params, grads)
    for k in params:                        # nothing was touched
        np.testing.assert_array_equal(params[k], before[k])
    assert opt.state == {} and 't' not in opt.hyperparams


def test_other_bad_inputs():
    with pytest.raises(ValueError, match='params is empty'):
        SGD().update({}, {})
    with pytest.raises(TypeError, match=r"params\['n'\] has dtype int64; an in-place update needs"):
        SGD().update({'n': np.arange(3)}, {'n': np.ones(3)})
    with pytest.raises(TypeError, match=r"params\['l'\] is a list"):
        SGD().update({'l': [1.0, 2.0]}, {'l': [1.0, 1.0]})
    opt, params = Momentum(), {'w': np.zeros(3)}
    opt.update(params, {'w': np.ones(3)})
    params['w'] = np.zeros(4)
    with pytest.raises(ValueError, match=r"params\['w'\] now has shape \(4,\) but its optimizer "
                                         r"state has shape \(3,\)"):
        opt.update(params, {'w': np.ones(4)})


@pytest.mark.parametrize('make, message', [
    (lambda: SGD(lr=0), 'SGD: lr must be > 0, got 0.0'),
    (lambda: Momentum(momentum=1.0), r'Momentum: momentum must be in \[0, 1\)'),
    (lambda: RMSprop(decay_rate=1.5),
     r"RMSprop: decay_rate \(the book's gamma\) must be in \[0, 1\), got 1.5"),
    (lambda: Adam(beta2=-0.1), r'Adam: beta2 must be in \[0, 1\)'),
    (lambda: Adadelta(rho=1), r'Adadelta: rho must be in \[0, 1\)'),
    (lambda: AdaGrad(eps=0), 'AdaGrad: eps must be > 0'),
])
def test_hyperparameters_are_validated(make, message):
    with pytest.raises(ValueError, match=message):
        make()
    with pytest.raises(TypeError, match="Yogi: lr must be a number, got '0.1'"):
        Yogi(lr='0.1')


def test_plain_numbers_are_replaced_in_the_dict():
    params = {'x': -7, 'y': 2.0}
    SGD(lr=0.5).update(params, {'x': -0.7, 'y': 4.0})
    assert params == {'x': pytest.approx(-6.65, abs=1e-15), 'y': pytest.approx(0.0, abs=1e-15)}
    assert type(params['x']) is float


def test_rmsprop_maps_decay_rate_to_gamma():
    assert RMSprop(lr=0.02, decay_rate=0.9).hyperparams == {'lr': 0.02, 'gamma': 0.9}
    assert Adam(eps=1e-8).hyperparams['eps'] == 1e-8


# ------------------------------------------------------------ the 2-D comparison, by hand

def _hand_points():
    """First three points of each optimizer on x^2/20 + y^2 from (-7, 2), gradient (x/10, 2y)."""
    pts = {}
    # SGD, lr 0.95: exact decimals worked out on paper
    pts['SGD'] = [(-7, 2), (-6.335, -1.8), (-5.733175, 1.62)]
    # Momentum, lr 0.1, beta 0.9 (v = 0.9 v + g, x -= 0.1 v): v1 = (-0.7, 4), v2 = (-1.323, 6.8)
    pts['Momentum'] = [(-7, 2), (-6.93, 1.6), (-6.7977, 0.92)]
    # AdaGrad, lr 1.5, eps 1e-6 inside the root
    out, sx, sy, x, y = [(-7.0, 2.0)], 0.0, 0.0, -7.0, 2.0
    for _ in range(2):
        gx, gy = x / 10, 2 * y
        sx, sy = sx + gx * gx, sy + gy * gy
        x, y = x - 1.5 * gx / math.sqrt(sx + 1e-6), y - 1.5 * gy / math.sqrt(sy + 1e-6)
        out.append((x, y))
    pts['AdaGrad'] = out
    # Adam, lr 0.3, betas 0.9/0.999, eps 1e-6 outside the bias-corrected root
    out, m, v, x, y = [(-7.0, 2.0)], [0.0, 0.0], [0.0, 0.0], -7.0, 2.0
    for t in (1, 2):
        g = [x / 10, 2 * y]
        m = [0.9 * a + 0.1 * b for a, b in zip(m, g)]
        v = [0.999 * a + 0.001 * b * b for a, b in zip(v, g)]
        step = [0.3 * (a / (1 - 0.9 ** t)) / (math.sqrt(b / (1 - 0.999 ** t)) + 1e-6) for a, b in zip(m, v)]
        x, y = x - step[0], y - step[1]
        out.append((x, y))
    pts['Adam'] = out
    return pts


def test_first_three_points_by_hand():
    got = zoo.compare(steps=2)
    hand = _hand_points()
    assert list(got) == ['SGD', 'Momentum', 'AdaGrad', 'Adam']
    for name, pts in hand.items():
        np.testing.assert_allclose(got[name], np.array(pts, dtype=float), rtol=0, atol=1e-12, err_msg=name)
    # the first steps, also on paper: AdaGrad's 1.5 (1 - tiny), Adam's 0.3 (1 - tiny)
    np.testing.assert_allclose(got['AdaGrad'][1], [-5.5000015306, 0.5000000469], atol=1e-9)
    np.testing.assert_allclose(got['Adam'][1], [-6.7000004286, 1.7000000750], atol=1e-9)


def test_thirty_steps_and_the_courses_forms():
    """The documented claim: the courses' own forms give the same 30-step pictures to ~1e-6."""
    ours = zoo.compare()
    assert all(p.shape == (31, 2) for p in ours.values())

    def courses(name):
        x, u, h, m, pts = np.array([-7.0, 2.0]), np.zeros(2), np.zeros(2), np.zeros(2), []
        for it in range(1, 31):
            g = np.array([x[0] / 10, 2 * x[1]])
            if name == 'SGD':
                x = x - 0.95 * g
            elif name == 'Momentum':
                u = 0.9 * u - 0.1 * g
                x = x + u
            elif name == 'AdaGrad':
                h = h + g * g
                x = x - 1.5 * g / (np.sqrt(h) + 1e-7)
            else:
                lr_t = 0.3 * math.sqrt(1 - 0.999 ** it) / (1 - 0.9 ** it)
                m, h = m + 0.1 * (g - m), h + 0.001 * (g * g - h)
                x = x - lr_t * m / (np.sqrt(h) + 1e-7)
            pts.append(x)
        return np.array(pts)

    diff = {name: np.abs(courses(name) - ours[name][1:]).max() for name in ours}
    assert diff['SGD'] < 1e-12 and diff['Momentum'] < 1e-12
    assert 1e-7 < diff['AdaGrad'] < 5e-6 and 1e-7 < diff['Adam'] < 5e-6
    np.testing.assert_allclose(ours['AdaGrad'][-1], [-0.120163, 0.0], atol=1e-6)


def test_momentum_oscillates_where_adagrad_settles():
    mom = zoo.trajectory(Momentum(lr=0.1, momentum=0.9), 1000)
    ada = zoo.trajectory(AdaGrad(lr=1.5), 1000)
    crossings = lambda a: int(np.sum(np.sign(a[1:]) * np.sign(a[:-1]) < 0))  # noqa: E731
    assert crossings(mom[:, 0]) == 28 and crossings(ada[:, 0]) == 0
    assert np.hypot(*mom[-1]) < 1e-20 and np.hypot(*ada[-1]) < 1e-50


# ------------------------------------------------------------ the command line

def test_cli_compare_2d_writes_pngs_and_prints_final_points(tmp_path, capsys):
    assert cli_main(['compare-2d', '--out', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    final = zoo.compare()
    for name, pts in final.items():
        assert f'{name:<9} final point ({pts[-1, 0]: .6f}, {pts[-1, 1]: .6f})' in out
    assert 'SGD       final point (-0.350393,  0.084782)' in out
    for fname in ('compare-2d.png', 'surface-3d.png', 'gradient-field.png'):
        data = (tmp_path / fname).read_bytes()
        assert data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ['.d2l-optim-manifest.json', 'compare-2d.png',
                                                          'gradient-field.png', 'surface-3d.png']  # no part left


def test_cli_compare_2d_rejects_bad_steps(capsys):
    assert cli_main(['compare-2d', '--steps', '0']) == 2
    assert '--steps must be >= 1, got 0' in capsys.readouterr().err


def test_importing_does_not_import_matplotlib():
    code = ('import sys, d2l_optim.optimizers, d2l_optim.zoo, d2l_optim.twolayer, '
            'd2l_optim.commands.compare2d; '
            'assert "matplotlib" not in sys.modules, "matplotlib imported"')
    subprocess.run([sys.executable, '-c', code], check=True)


# ------------------------------------------------------------ the two-layer network

def test_two_layer_gradients_match_finite_differences():
    rng = np.random.default_rng(11)
    params = twolayer.init_params(5, 7, rng)
    params['b1'] += rng.normal(scale=0.1, size=7)
    params['b2'] += 0.3
    X, y = rng.normal(size=(20, 5)), rng.normal(size=20)
    value, grads = twolayer.loss_and_grads(params, X, y)
    assert value == pytest.approx(twolayer.loss(params, X, y), abs=1e-15)
    assert set(grads) == set(params)
    h = 1e-6
    for k, p in params.items():
        assert grads[k].shape == p.shape
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = twolayer.loss(params, X, y)
            p[i] = old - h
            down = twolayer.loss(params, X, y)
            p[i] = old
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-9, err_msg=k)


def test_two_layer_every_optimizer_beats_the_best_linear_model():
    baseline = twolayer.linear_baseline()
    assert baseline == pytest.approx(0.2417, abs=1e-4)
    curves = twolayer.compare_optimizers(epochs=10, seed=0)
    assert list(curves) == list(OPTIMIZERS)
    start = {c.losses[0] for c in curves.values()}
    assert len(start) == 1                       # same initial weights for every optimizer
    for name, c in curves.items():
        assert len(c.losses) == 1 + 10 * 5 and c.x[-1] == 10
        assert not c.diverged and c.final_loss < 0.16 < baseline, (name, c.final_loss)
    assert min(c.final_loss for c in curves.values()) < 0.1


def test_two_layer_divergence_stops_with_nan():
    curve = twolayer.compare_optimizers({'SGD': SGD(lr=5.0)}, epochs=3)['SGD']
    assert curve.diverged and math.isnan(curve.losses[-1]) and len(curve.losses) < 1 + 3 * 5


def test_repr_uses_the_constructor_names():
    opt = RMSprop(lr=0.02, decay_rate=0.9)
    assert repr(opt) == 'RMSprop(lr=0.02, decay_rate=0.9)'
    adam = Adam(lr=0.1)
    adam.update({'w': np.zeros(1)}, {'w': np.ones(1)})
    assert repr(adam) == 'Adam(lr=0.1, beta1=0.9, beta2=0.999)'     # no t: not an argument


def test_notebook_is_stored_without_outputs_and_parameterised():
    import json
    from pathlib import Path
    nb = json.loads((Path(__file__).parents[1] / 'notebooks' / 'optimizer-zoo.ipynb').read_text())
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    assert ''.join(code[0]['source']) == 'BACKEND = "numpy"'
    assert code[0]['metadata']['tags'] == ['parameters']
    assert all(c['outputs'] == [] and c['execution_count'] is None for c in code)
