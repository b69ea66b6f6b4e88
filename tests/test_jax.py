"""The JAX backend: immutable arrays in Variable boxes, optax as the built-ins, jax.jit for
compile=True, sweeps by broadcasting, check on every form.

The cross-backend tests (tests/test_backends.py: the book's names, 11.8 the book's way,
the 2-D traces digit for digit, all 7 rules against NumPy to 1e-4, the install line) run
JAX too; this file holds what is JAX's own. JAX >= 0.7.2 needs NumPy 2, so these tests run
in the NumPy 2 environment (tests/requirements-numpy2.txt) and skip in the other one.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

jax = pytest.importorskip('jax', reason='JAX needs NumPy >= 2: it is installed in the NumPy 2 '
                                        'test environment only (tests/requirements-numpy2.txt)')
optax = pytest.importorskip('optax', reason='optax comes with "d2l-optim[jax]"')
import jax.numpy as jnp  # noqa: E402

from d2l_optim.backend import installed_backends, load_backend  # noqa: E402
from d2l_optim.rules import RULES  # noqa: E402
from test_builtin import GRADS, P0, _numpy_curve, scratch  # noqa: E402

d2l = load_backend('jax')
OPTIMUM, GOOD = 0.2417, 0.26         # least-squares optimum and the book's "converged"


def run_rule(rule: str, hp: dict | None = None, batch_size: int = 10, **kwargs):
    data_iter, fd = d2l.get_data_ch11(batch_size)
    fn = d2l.sgd_momentum if rule == 'momentum' else getattr(d2l, rule)
    states = getattr(d2l, f'init_{rule}_states')(fd) if RULES[rule].n_states else None
    return d2l.fit_ch11(fn, states, dict(RULES[rule].defaults) if hp is None else hp,
                        data_iter, fd, seed=0, **kwargs)


# ------------------------------------------------------------------ in place on immutable arrays

def test_the_books_optimizer_writes_into_the_same_boxes():
    params = [d2l.BACKEND.parameter(np.ones((2, 1))), d2l.BACKEND.parameter(np.ones(1))]
    boxes, states = list(params), d2l.init_adam_states(2)
    state_boxes = [s for pair in states for s in pair]
    hp = {'lr': 0.1}
    d2l.adam(params, [jnp.full((2, 1), 2.0), jnp.full(1, 2.0)], states, hp)
    assert all(a is b for a, b in zip(params, boxes))                        # the same boxes ...
    assert all(a is b for a, b in zip((s for pair in states for s in pair), state_boxes))
    assert isinstance(params[0], d2l.Variable) and hp['t'] == 2              # ... holding new arrays
    assert np.asarray(params[0]) == pytest.approx(1 - 0.1 * 2 / (2 + 1e-6), abs=1e-7)
    assert float(states[1][0].value[0]) == pytest.approx(0.1 * 2, abs=1e-7)   # v = (1 - beta1) g


def test_p_colon_assignment_fails_with_the_jax_way():
    p = d2l.Variable(jnp.zeros(3))
    with pytest.raises(TypeError, match=r"JAX arrays are immutable, so p\[:\] = \.\.\. cannot write "
                                        r"into p: write p\.assign\(new_value\)"):
        p[:] = 1.0
    p.assign(p + 1)                    # the JAX way: arithmetic reads the box, assign writes it
    assert np.asarray(p).tolist() == [1.0, 1.0, 1.0] and p.dtype == jnp.float32


def test_a_learners_book_style_optimizer_with_assign_trains(capsys):
    def init_momentum_states(feature_dim):
        return [d2l.Variable(jnp.zeros((feature_dim, 1))), d2l.Variable(jnp.zeros(1))]

    def sgd_momentum(params, grads, states, hyperparams):
        for p, g, v in zip(params, grads, states):
            v.assign(hyperparams['momentum'] * v + g)
            p.assign(p - hyperparams['lr'] * v)

    data_iter, fd = d2l.get_data_ch11(10)
    run = d2l.fit_ch11(sgd_momentum, init_momentum_states(fd), {'lr': 0.005, 'momentum': 0.9},
                       data_iter, fd, seed=0)
    assert np.max(np.abs(np.array(run.losses) - _numpy_curve('momentum'))) <= 1e-6


def test_a_learners_p_colon_optimizer_fails_with_the_sentence():
    def sgd(params, grads, states, hyperparams):
        for p, g in zip(params, grads):
            p[:] = p - hyperparams['lr'] * g
    data_iter, fd = d2l.get_data_ch11(10)
    with pytest.raises(TypeError, match=r'write p\.assign\(new_value\)'):
        d2l.train_ch11(sgd, None, {'lr': 0.05}, data_iter, fd)


# ------------------------------------------------------------------ compile=True is jax.jit

@pytest.mark.parametrize('rule', list(RULES))
def test_compile_equals_eager(rule):
    hp = dict(RULES[rule].defaults)
    compiled = run_rule(rule, hp, compile=True)
    assert np.max(np.abs(np.array(compiled.losses) - _numpy_curve(rule))) <= 1e-5
    if RULES[rule].uses_t:
        assert hp['t'] == 301                 # advanced once per step, outside the trace


def test_compile_traces_once_per_batch_shape():
    """Batch 7 leaves a short last batch of 2 rows (1500 = 214 x 7 + 2) in every epoch: the
    optimizer's Python runs at trace time only, once to find the boxes, once per shape."""
    calls = []

    def rmsprop(params, grads, states, hyperparams):
        calls.append(grads[0].shape)
        d2l.rmsprop(params, grads, states, hyperparams)

    np_d2l = load_backend('numpy')    # reference: JAX eager draws NumPy's curve (test_backends.py)
    data_iter, fd = np_d2l.get_data_ch11(7)
    eager = np_d2l.fit_ch11(np_d2l.rmsprop, np_d2l.init_rmsprop_states(fd), {'lr': 0.01, 'gamma': 0.9},
                            data_iter, fd, 3, seed=0)
    data_iter, fd = d2l.get_data_ch11(7)
    compiled = d2l.fit_ch11(rmsprop, d2l.init_rmsprop_states(fd), {'lr': 0.01, 'gamma': 0.9},
                            data_iter, fd, 3, seed=0, compile=True)
    assert len(calls) == 3
    assert len(compiled.losses) == len(eager.losses)
    assert np.max(np.abs(np.array(compiled.losses) - eager.losses)) <= 1e-5


def test_a_second_run_of_the_same_step_reuses_its_xla_executable(monkeypatch):
    """jax.jit's cache is per function and every run builds a new step; the adapter keeps
    the executables by program text, so only a new program (here a new lr) compiles."""
    compiles = []
    real = jax.stages.Lowered.compile
    monkeypatch.setattr(jax.stages.Lowered, 'compile',
                        lambda self, *a, **k: compiles.append(1) or real(self, *a, **k))
    data_iter, fd = d2l.get_data_ch11(10)
    runs = [d2l.fit_ch11(d2l.adam, d2l.init_adam_states(fd), {'lr': lr}, data_iter, fd, 1,
                         seed=0, compile=True) for lr in (0.013, 0.013, 0.017)]
    assert len(compiles) == 2                   # 1500 rows in batches of 10: one shape
    assert runs[0].losses == runs[1].losses and runs[2].losses != runs[1].losses
    eager = d2l.fit_ch11(d2l.adam, d2l.init_adam_states(fd), {'lr': 0.017}, data_iter, fd, 1, seed=0)
    assert np.max(np.abs(np.array(runs[2].losses) - eager.losses)) <= 1e-5
    assert len(d2l.EXECUTABLES) <= d2l.EXECUTABLES_KEPT


def test_a_repeated_run_of_a_library_optimizer_is_not_traced_again():
    """The library's own optimizers carry their rule, so a step's program is keyed by the rule,
    its hyperparameters and the shapes: a repeated run reuses the traced program (as a
    module-level jax.jit does in a script) and still advances its own t and writes its own boxes."""
    traces = []

    def adam(params, grads, states, hyperparams):       # a library optimizer, seen tracing
        traces.append(grads[0].shape)
        d2l.adam(params, grads, states, hyperparams)
    adam.rule = d2l.adam.rule

    data_iter, fd = d2l.get_data_ch11(10)
    hps = [{'lr': 0.011}, {'lr': 0.011}, {'lr': 0.012}]
    runs = [d2l.fit_ch11(adam, d2l.init_adam_states(fd), hp, data_iter, fd, 1, seed=s,
                         compile=True) for hp, s in zip(hps, (0, 1, 0))]
    assert len(traces) == 2                 # runs 1 and 3; run 2 (same program, seed 1) none
    assert [hp['t'] for hp in hps] == [151, 151, 151]
    for run, hp, seed in zip(runs, hps, (0, 1, 0)):
        eager = d2l.fit_ch11(d2l.adam, d2l.init_adam_states(fd), {'lr': hp['lr']}, data_iter, fd,
                             1, seed=seed)
        assert np.max(np.abs(np.array(run.losses) - eager.losses)) <= 1e-5
    assert runs[0].losses != runs[1].losses     # seed 1's own weights, not run 1's boxes
    assert len(d2l.PROGRAMS) <= d2l.EXECUTABLES_KEPT


def test_a_learners_own_optimizer_is_traced_every_run():
    """A learner's function may read globals that change between runs, so it is traced anew."""
    scale, traces = [1.0], []

    def sgd(params, grads, states, hyperparams):
        traces.append(1)
        for p, g in zip(params, grads):
            p.assign(p - hyperparams['lr'] * scale[0] * g)

    def my_sgd(p, g, state, hp, t, xp):     # a pure rule, through d2l.book_form (it has .rule)
        traces.append(2)
        return p - hp['lr'] * scale[0] * g, state

    data_iter, fd = d2l.get_data_ch11(10)
    halved = d2l.fit_ch11(d2l.sgd, None, {'lr': 0.005}, data_iter, fd, 1, seed=0)
    for fn in (sgd, d2l.book_form(my_sgd, 'sgd')):
        scale[0], traces[:] = 1.0, []
        first = d2l.fit_ch11(fn, None, {'lr': 0.01}, data_iter, fd, 1, seed=0, compile=True)
        scale[0] = 0.5
        second = d2l.fit_ch11(fn, None, {'lr': 0.01}, data_iter, fd, 1, seed=0, compile=True)
        assert len(traces) >= 2
        assert first.losses != second.losses
        assert np.max(np.abs(np.array(second.losses) - halved.losses)) <= 1e-5


def test_concise_compile_equals_eager():
    for name, hp in (('adam', {'lr': 0.01}),):          # optax's state: a tuple of records
        runs = []
        for compile_ in (False, True):
            data_iter, _ = d2l.get_data_ch11(10)
            runs.append(d2l.fit_concise_ch11(name, dict(hp), data_iter, seed=0, compile=compile_))
        assert np.max(np.abs(np.array(runs[0].losses) - runs[1].losses)) <= 1e-5


# ------------------------------------------------------------------ optax as the built-ins

def test_optax_by_name_or_factory_with_the_books_names(capsys):
    data_iter, _ = d2l.get_data_ch11(10)
    by_name = d2l.fit_concise_ch11('RMSprop', {'lr': 0.01, 'gamma': 0.9}, data_iter, seed=1,
                                   compile=True)
    by_factory = d2l.fit_concise_ch11(optax.rmsprop, {'learning_rate': 0.01, 'decay': 0.9},
                                      data_iter, seed=1, compile=True)
    assert by_name.optimizer == 'RMSprop' and by_factory.optimizer == 'rmsprop'
    assert by_name.losses == by_factory.losses
    assert d2l.optax_hyperparams({'lr': 0.1, 'gamma': 0.9, 'beta1': 0.8, 'beta2': 0.99, 'rho': 0.5,
                                  'momentum': 0.9, 'eps': 1e-6}) == {
        'learning_rate': 0.1, 'decay': 0.9, 'b1': 0.8, 'b2': 0.99, 'rho': 0.5, 'momentum': 0.9,
        'eps': 1e-6}
    with pytest.raises(ValueError, match=r"unknown optax optimizer 'sgdd'; choose one of: .*adam, .*yogi"):
        d2l.fit_concise_ch11('sgdd', {}, data_iter)
    with pytest.raises(ValueError, match='give either lr or learning_rate, not both'):
        d2l.fit_concise_ch11('sgd', {'lr': 0.05, 'learning_rate': 0.05}, data_iter)
    with pytest.raises(ValueError, match=r"sgd does not take \{'learning_rate': 0.05, 'alpha': 0.9\}"):
        d2l.fit_concise_ch11('sgd', {'lr': 0.05, 'alpha': 0.9}, data_iter)


BOOK_CONCISE = {'sgd': ('sgd', {'lr': 0.05}), 'momentum': ('sgd', {'lr': 0.005, 'momentum': 0.9}),
                'adagrad': ('adagrad', {'lr': 0.1}), 'rmsprop': ('rmsprop', {'lr': 0.01, 'gamma': 0.9}),
                'adadelta': ('adadelta', {'rho': 0.9}), 'adam': ('adam', {'lr': 0.01}),
                'yogi': ('yogi', {'lr': 0.01})}


@pytest.mark.parametrize('rule', list(BOOK_CONCISE))
def test_optax_with_the_books_hyperparameters_lands_in_the_books_loss_range(rule, capsys):
    """Seeded: unseeded, Adadelta (rho 0.9, 2 epochs) ends anywhere in about 0.250-0.263, on
    optax and torch.optim alike (10 seeds gave the same 0.2504-0.2589 on both), so an unseeded
    run sometimes passes 0.26 (CI saw 0.2622). Seed 0 gives 0.2572 on both."""
    trainer, hp = BOOK_CONCISE[rule]
    data_iter, _ = d2l.get_data_ch11(10)
    _, losses = d2l.train_concise_ch11(trainer, hp, data_iter, compile=True,    # eager: 5x the time
                                       seed=0)
    assert len(losses) == 15 and OPTIMUM <= losses[-1] <= GOOD
    line = capsys.readouterr().out
    assert line.startswith('loss: 0.2') and line.endswith(' sec/epoch\n')


def test_optax_adadelta_without_a_learning_rate_would_climb():
    """optax's learning_rate=None means no scaling, which also drops the sign flip: a gradient
    of +1 gives an update of +0.0032. The adapter passes 1.0 when none is given."""
    opt = optax.adadelta(rho=0.9)
    update, _ = opt.update(jnp.ones(1), opt.init(jnp.ones(1)), jnp.ones(1))
    assert float(update[0]) > 0


# ------------------------------------------------------------------ docs/scratch-vs-builtin.md

def run_optax(factory, kwargs: dict) -> np.ndarray:
    """20 steps of an optax optimizer from P0 on GRADS, in float64 (inside jax.enable_x64 only)."""
    with jax.enable_x64(True):
        opt = factory(**kwargs)
        p, out = jnp.asarray(P0), []
        state = opt.init(p)
        for g in GRADS:
            updates, state = opt.update(jnp.asarray(g), state, p)
            p = optax.apply_updates(p, updates)
            out.append(np.asarray(p).ravel().copy())
    return np.array(out)


def yogi_from_zero(learning_rate: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-3):
    """optax's Yogi with both moments starting at 0, as the book's (optax: 1e-6)."""
    return optax.chain(optax.scale_by_yogi(b1=b1, b2=b2, eps=eps, initial_accumulator_value=0.0),
                       optax.scale_by_learning_rate(learning_rate))


@dataclass(frozen=True)
class OptaxCase:
    rule: str
    factory: str
    kwargs: dict
    steps_bound: float
    airfoil_bound: float
    reason: str


OPTAX_CASES = [
    OptaxCase('sgd', 'sgd', {'learning_rate': 0.05}, 1e-12, 1e-6, 'same update'),
    OptaxCase('momentum', 'sgd', {'learning_rate': 0.005, 'momentum': 0.9}, 1e-12, 1e-6,
              'same update: v <- beta v + g, x <- x - eta v'),
    OptaxCase('adagrad', 'adagrad', {'learning_rate': 0.1, 'initial_accumulator_value': 0.0,
                                     'eps': 1e-6}, 1e-12, 1e-6,
              'same update once the accumulator starts at 0 (default 0.1) and eps is 1e-6 (default 1e-7)'),
    OptaxCase('rmsprop', 'rmsprop', {'learning_rate': 0.01, 'decay': 0.9, 'eps': 1e-6}, 1e-12, 1e-6,
              'same update: eps inside the square root (default 1e-8); gamma is decay'),
    OptaxCase('adadelta', 'adadelta', {'learning_rate': 1.0, 'rho': 0.9, 'eps': 1e-5}, 1e-12, 1e-6,
              'same update with learning_rate 1.0 and eps 1e-5 (default 1e-6)'),
    OptaxCase('adam', 'adam', {'learning_rate': 0.01, 'eps': 1e-6}, 1e-12, 2e-6,
              'same update: eps after the bias correction (default 1e-8)'),
    OptaxCase('yogi', 'yogi_from_zero', {'learning_rate': 0.01}, 1e-12, 2e-6,
              'same update once both moments start at 0: optax.yogi starts them at 1e-6'),
]
FACTORIES = {'yogi_from_zero': yogi_from_zero}


def _factory(name: str):
    return FACTORIES.get(name) or getattr(optax, name)


def measure_steps(case: OptaxCase) -> float:
    return float(np.max(np.abs(run_optax(_factory(case.factory), case.kwargs) - scratch(case.rule))))


def measure_airfoil(case: OptaxCase) -> float:
    data_iter, _ = d2l.get_data_ch11(10)
    run = d2l.fit_concise_ch11(_factory(case.factory), dict(case.kwargs), data_iter, seed=0)
    return float(np.max(np.abs(np.array(run.losses) - _numpy_curve(case.rule))))


@pytest.mark.parametrize('case', OPTAX_CASES, ids=lambda c: c.rule)
def test_optax_matches_the_core_rule(case):
    steps, airfoil = measure_steps(case), measure_airfoil(case)
    assert steps <= case.steps_bound, f'{case.reason}: 20 steps {steps:.3g}'
    assert airfoil <= case.airfoil_bound, f'{case.reason}: airfoil {airfoil:.3g}'


@pytest.mark.parametrize('factory, kwargs, rule, at_least, why', [
    ('adagrad', {'learning_rate': 0.1}, 'adagrad', 1e-2, 'the accumulator starts at 0.1'),
    ('rmsprop', {'learning_rate': 0.01, 'decay': 0.9}, 'rmsprop', 1e-6, 'eps 1e-8 inside the root'),
    ('adadelta', {'learning_rate': 1.0, 'rho': 0.9}, 'adadelta', 1e-2, 'eps 1e-6, the book 1e-5'),
    ('yogi', {'learning_rate': 0.01}, 'yogi', 1e-5, 'moments start at 1e-6'),
])
def test_optax_defaults_that_do_not_match(factory, kwargs, rule, at_least, why):
    assert float(np.max(np.abs(run_optax(getattr(optax, factory), kwargs) - scratch(rule)))) >= at_least, why


# ------------------------------------------------------------------ sweeps, check, registry

def test_every_swept_run_equals_its_single_run():
    """The sweep issue's exactness test on JAX: each run of a broadcast sweep is its single
    ``fit_ch11`` run (NumPy's for three of them, JAX's own, jitted to save CI time, for the
    first of each rule), max |delta| 1e-5."""
    from d2l_optim.sweeps import sweep
    from d2l_optim.backends import numpy as np_d2l
    worst = 0.0
    for name, rule in RULES.items():
        grid = {'rho': [0.5, 0.9]} if name == 'adadelta' else {'lr': [rule.defaults['lr'] * 0.3,
                                                                     rule.defaults['lr'] * 2]}
        result = sweep(name, grid, seeds=(0, 7), backend='jax')
        assert len(result.runs) == 4 and result.backend == 'jax'
        for i, run in enumerate(result.runs):
            m = d2l if i == 0 else np_d2l
            data_iter, fd = m.get_data_ch11(10)
            fn = m.sgd_momentum if name == 'momentum' else getattr(m, name)
            states = getattr(m, f'init_{name}_states')(fd) if rule.n_states else None
            hp = {k: v for k, v in run['hyperparams'].items() if k in rule.defaults}
            ref = m.fit_ch11(fn, states, hp, data_iter, fd, seed=run['seed'], compile=m is d2l)
            assert len(run['losses']) == len(ref.losses) == 15
            worst = max(worst, float(np.max(np.abs(np.array(run['losses']) - ref.losses))))
    assert worst <= 1e-5


def test_check_passes_the_core_rule_and_a_learners_assign_version_and_names_p_colon():
    def rmsprop(params, grads, states, hyperparams):
        gamma, eps = hyperparams['gamma'], 1e-6
        for p, s, g in zip(params, states, grads):
            s.assign(gamma * s + (1 - gamma) * jnp.square(g))
            p.assign(p - hyperparams['lr'] * g / jnp.sqrt(s + eps))
    assert d2l.check(rmsprop, 'rmsprop')
    assert d2l.check(d2l.rmsprop, 'rmsprop') and d2l.check(RULES['rmsprop'].update, 'rmsprop')

    def sgd(params, grads, states, hyperparams):
        for p, g in zip(params, grads):
            p[:] = p - hyperparams['lr'] * g
    result = d2l.check(sgd, 'sgd')
    assert not result and 'p.assign(new_value)' in result.message


def test_installed_and_imported_alone():
    assert 'jax' in installed_backends()
    code = ('import sys, d2l_optim, d2l_optim.backends.numpy, d2l_optim.backends.torch\n'
            'import d2l_optim.backends.tensorflow    # TensorFlow itself imports jax if it can\n'
            'a = "jax" in sys.modules\n'
            'import d2l_optim.backends.jax\n'
            'print(a, "torch" in sys.modules, "jax" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['False', 'True', 'True']
    code = ('import sys, d2l_optim.backends.jax as d2l\n'
            'import jax\n'
            'print(json.dumps([m in sys.modules for m in ("torch", "tensorflow")], separators=(",", ":")), '
            'jax.config.jax_enable_x64, d2l.zeros(1).dtype, d2l.BACKEND.parameter([1.0]).dtype)')
    out = subprocess.run([sys.executable, '-c', 'import json\n' + code], capture_output=True,
                         text=True, check=True)
    flags, x64, *dtypes = out.stdout.split()
    assert json.loads(flags) == [False, False] and x64 == 'False' and dtypes == ['float32', 'float32']


if __name__ == '__main__':      # the optax column of docs/scratch-vs-builtin.md
    for case in OPTAX_CASES:
        args = ', '.join(f'{k}={v}' for k, v in case.kwargs.items())
        print(f'| {case.rule} | optax | `{case.factory}({args})` | '
              f'{measure_steps(case):.1e} | {measure_airfoil(case):.1e} | {case.reason} |')


def test_lenet_names_are_jax_lenets():
    """11.11's names on ``d2l`` are the JAX LeNet module's (tests/test_lenet.py trains them)."""
    import d2l_optim.backends.jax_lenet as lenet
    for name in ('LeNet', 'train_ch6', 'fit_ch6', 'load_data_fashion_mnist', 'evaluate_accuracy_gpu',
                 'try_gpu', 'builtin_scheduler'):
        assert getattr(d2l, name) is getattr(lenet, name), name
    assert not hasattr(d2l, 'LENET_NOT_YET')
    assert d2l.SquareRootScheduler(0.1)(4) == pytest.approx(0.1 / np.sqrt(5))   # the core's
    assert float(d2l.builtin_scheduler(d2l.CosineScheduler(20, 0.3, 0.01))(10)) == pytest.approx(0.155, rel=1e-6)


def test_bench_times_eager_jit_and_the_hand_written_loops_on_the_same_run():
    """``d2l-optim bench`` on JAX: all eight variants run, from the same seed to the same loss
    (the floors are hand-written, so equal losses show they train the same model), and the
    goals table has the issue's two JAX rows."""
    from d2l_optim import bench
    config = bench.BenchConfig.quick(['jax'], optimizers=['adam'], batch_sizes=(10,), epochs={10: 1})
    ms = bench.bench_training(config)
    by_variant = {m.variant: m for m in ms}
    assert set(by_variant) == set(bench.VARIANTS) and all(m.ok for m in ms), [m.note for m in ms]
    losses = {v: m.final_loss for v, m in by_variant.items()}
    assert max(losses.values()) - min(losses.values()) <= 1e-5, losses
    assert by_variant['scratch_compiled'].baseline == 'floor_compiled'
    goals = [g['goal'] for g in bench.goals(ms, [])]
    assert 'jax train_ch11 compile=True vs hand-written jitted loop, batch 10' in goals
    assert 'jax scratch compile=True vs eager, batch 10, per epoch after the trace' in goals


def test_compare_puts_jax_beside_numpy(tmp_path, capsys):
    from d2l_optim.cli import main
    out, js = tmp_path / 'figs', tmp_path / 'runs.json'
    assert main(['compare', 'adam', '--backends', 'numpy,jax', '--epochs', '1',
                 '--out', str(out), '--json', str(js)]) == 0
    rows = {r.split()[0]: r.split()[1:] for r in capsys.readouterr().out.splitlines()[2:4]}
    assert rows['numpy'][0] == rows['jax'][0] and float(rows['jax'][2]) <= 1e-4
    runs = json.loads(js.read_text())
    assert [r['backend'] for r in runs] == ['numpy', 'jax'] and len(runs[1]['losses']) == 7


def test_a_learners_own_adam_keeps_counting_when_jitted():
    """The book's cells advance hyperparams['t'] themselves; under jax.jit t is an argument."""
    def adam(params, grads, states, hyperparams):
        b1, b2, t = 0.9, 0.999, hyperparams['t']
        for p, (v, s), g in zip(params, states, grads):
            v.assign(b1 * v + (1 - b1) * g)
            s.assign(b2 * s + (1 - b2) * jnp.square(g))
            p.assign(p - hyperparams['lr'] * (v / (1 - b1 ** t)) / (jnp.sqrt(s / (1 - b2 ** t)) + 1e-6))
        hyperparams['t'] += 1

    data_iter, fd = d2l.get_data_ch11(10)
    hp = {'lr': 0.01, 't': 1}
    run = d2l.fit_ch11(adam, d2l.init_adam_states(fd), hp, data_iter, fd, seed=0, compile=True)
    assert hp['t'] == 301
    assert np.max(np.abs(np.array(run.losses) - _numpy_curve('adam'))) <= 1e-5


def test_a_float64_sweep_needs_x64_and_then_is_float64():
    from d2l_optim.sweeps import sweep
    with pytest.raises(ValueError, match=r"dtype 'float64' on jax: its arrays come back as float32; "
                                         r"call jax.config.update\('jax_enable_x64', True\)"):
        sweep('sgd', {'lr': [0.05]}, backend='jax', dtype='float64', num_epochs=1, batch_size=100)
    with jax.enable_x64(True):
        on_jax = sweep('sgd', {'lr': [0.05, 0.1]}, backend='jax', dtype='float64', num_epochs=1,
                       batch_size=100)
    on_numpy = sweep('sgd', {'lr': [0.05, 0.1]}, backend='numpy', dtype='float64', num_epochs=1,
                     batch_size=100)
    for a, b in zip(on_jax.runs, on_numpy.runs):
        assert np.max(np.abs(np.array(a['losses']) - b['losses'])) <= 1e-12


def test_reproduce_runs_the_book_sections_on_jax_compiled(tmp_path):
    """``d2l-optim reproduce --backends jax`` on two sections: every JAX row within the book's
    range, trained with jax.jit (the report says so), and its figures written."""
    from d2l_optim.cli import main
    js = tmp_path / 'rows.json'
    assert main(['reproduce', '--backends', 'jax', '--sections', '11.3,11.8', '--out',
                 str(tmp_path / 'r'), '--json', str(js)]) == 0
    report = json.loads(js.read_text())
    rows = [r for r in report['rows'] if r['backend'] == 'jax']
    assert report['summary']['errors'] == 0 and report['summary']['disagree'] == 0
    trained = [r for r in rows if 'loss' in r['values']]
    assert {r['section'] for r in rows} == {'11.8'} and len(trained) == 2    # scratch, concise
    assert {r['section'] for r in report['rows'] if r['backend'] == 'core'} == {'11.3', '11.8'}
    assert all(r['in_range'] and 0.242 <= round(r['values']['loss'], 3) <= 0.259 for r in trained)
    assert all('mode: compiled (jax.jit)' in r['note'] for r in trained)
    assert all((tmp_path / 'r' / f).is_file() for r in rows for f in r['figures'])
    assert 'jax 0.' in report['meta']['backends']
