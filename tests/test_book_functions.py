"""The functions the book prints are short enough to show, and ``train_ch11`` is the book's loop.

The notebooks show these with ``inspect.getsource``; a learner must recognise the book's code
in them, so each stays at about 30 lines with its checks and plumbing in named helpers, and
``train_ch11`` is the loop itself, not a wrapper of another function. The airfoil facts
(weights, evaluation every 200 examples, the data) have one home, which every loop uses.
"""
import ast
import inspect
import textwrap

import numpy as np
import pytest

from d2l_optim import airfoil, harness, schedulers, sweeps, trajectories

#: "about 30 lines", decorator and docstring included (the book's PyTorch train_ch11 is 25)
MAX_LINES = 31

SHOWN = {
    'train_ch11': harness.train_ch11, 'train_concise_ch11': harness.train_concise_ch11,
    'evaluate_loss': harness.evaluate_loss, 'get_data_ch11': airfoil.get_data_ch11,
    'train_2d': trajectories.train_2d, 'show_trace_2d': trajectories.show_trace_2d,
    **{name: getattr(schedulers, name) for name in (
        'SquareRootScheduler', 'FactorScheduler', 'MultiFactorScheduler', 'CosineScheduler')},
}


def lines_of(fn) -> list[str]:
    return inspect.getsource(fn).splitlines()


@pytest.mark.parametrize('name', SHOWN)
def test_a_shown_function_is_about_30_lines(name):
    n = len(lines_of(SHOWN[name]))
    assert n <= MAX_LINES, f'{name} is {n} lines; move checks or plumbing into a named helper'


def test_the_adapter_shows_the_same_source():
    from d2l_optim.backends import numpy as d2l
    for name in ('train_ch11', 'train_concise_ch11', 'evaluate_loss', 'show_trace_2d'):
        assert inspect.getsource(getattr(d2l, name)) == inspect.getsource(SHOWN[name]), name


def _calls(node: ast.AST) -> list[str]:
    """The names called under ``node``, in source order (``a.b(...)`` gives ``b``)."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            f = sub.func
            found.append((sub.lineno, sub.col_offset, f.attr if isinstance(f, ast.Attribute)
                          else getattr(f, 'id', '')))
    return [name for *_, name in sorted(found)]


def test_train_ch11_is_the_books_loop():
    """Init w, b; for each epoch, for each (X, y) of data_iter: loss, gradients, trainer_fn;
    every 200 examples the loss on all the data, animated; then the printed line."""
    source = textwrap.dedent(inspect.getsource(harness.train_ch11))
    fn = ast.parse(source).body[0]
    epochs = [n for n in fn.body if isinstance(n, ast.For)]
    assert len(epochs) == 1 and ast.unparse(epochs[0].iter) == 'range(num_epochs)'
    batches = epochs[0].body[0]
    assert isinstance(batches, ast.For) and ast.unparse(batches.target) == '(X, y)' \
        and ast.unparse(batches.iter) == 'data_iter'
    assert 'if n % EVAL_EVERY == 0:' in source
    every_200 = next(n for n in batches.body if isinstance(n, ast.If))
    assert _calls(every_200) == ['stop', 'add', 'len', 'watch', 'evaluate_loss', 'start']
    # before the loop: the weights, the net, and a step of loss, gradients and trainer_fn
    before = _calls(ast.Module(body=fn.body[:fn.body.index(epochs[0])], type_ignores=[]))
    assert before.index('init_weights') < before.index('gradients') < before.index('trainer_fn')
    assert {'linreg', 'squared_loss', 'mean'} <= set(before)
    assert "print(f'loss: {animator.Y[0][-1]:.3f}, {timer.sum() / num_epochs:.3f} sec/epoch')" in source
    assert source.rstrip().endswith('return timer.cumsum(), animator.Y[0]')
    # and it is the loop, not a wrapper: no other training function is called
    assert not {'fit_ch11', 'fit_concise_ch11', 'train_concise_ch11'} & set(_calls(fn))


def test_fit_ch11_is_train_ch11_with_its_record(capsys):
    """One loop: the Run that fit_ch11 returns holds what train_ch11 returns and prints."""
    from d2l_optim.backends import numpy as d2l
    data_iter, fd = d2l.get_data_ch11(10, n=600)
    hp = {'lr': 0.01, 'gamma': 0.9}
    times, losses = d2l.train_ch11(d2l.rmsprop, d2l.init_rmsprop_states(fd), dict(hp), data_iter, fd, 2,
                                   seed=4)
    printed = capsys.readouterr().out
    run = d2l.fit_ch11(d2l.rmsprop, d2l.init_rmsprop_states(fd), dict(hp), data_iter, fd, 2, seed=4)
    assert capsys.readouterr().out == ''
    assert run.losses == losses and len(run.times) == len(times) == 6
    assert run.x == pytest.approx([p[2] for p in airfoil.evaluation_points(600, 10, 2)])
    assert printed.startswith(f'loss: {losses[-1]:.3f}, ') and run.hyperparams == hp
    assert run.optimizer == 'rmsprop' and run.animator is not None and run.wall_s > 0


def test_one_home_for_the_airfoil_model():
    assert airfoil.EVAL_EVERY == 200
    assert sweeps.evaluation_points is airfoil.evaluation_points
    w, b = airfoil.init_weights(5, np.random.default_rng(0))
    expected = np.random.default_rng(0).normal(0.0, 0.01, size=(5, 1)).astype(np.float32)
    np.testing.assert_array_equal(w, expected)
    assert w.dtype == b.dtype == np.float32 and b.shape == (1,) and not b.any()
    X, y = airfoil.airfoil_arrays(1500)
    X2, _ = airfoil.airfoil_arrays(1500)
    assert X.shape == (1500, 5) and y.shape == (1500,) and X is not X2     # each call its own arrays
    X[0, 0] = 99.0                                                          # so no caller spoils the cache
    assert airfoil.airfoil_arrays(1500)[0][0, 0] != 99.0


@pytest.mark.parametrize('module', [harness, airfoil, trajectories, sweeps, schedulers])
def test_no_private_name_imported_across_modules(module):
    tree = ast.parse(inspect.getsource(module))
    private = [f'{node.module}.{a.name}' for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for a in node.names if a.name.startswith('_') and a.name != '__future__'
               and node.module != '__future__']
    assert not private
