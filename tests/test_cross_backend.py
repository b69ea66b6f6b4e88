"""The notebooks' cross-framework cells on a machine without some frameworks: they name each
missing one with its install line, and draw (and compare) only what ran."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from d2l_optim.backend import BACKENDS
from d2l_optim.sections import cross_backend
from d2l_optim.sections.registry import BACKENDS_ENV

FRAMEWORKS = ('torch', 'tensorflow', 'mxnet', 'jax')
BUILTINS = {'torch': ('SGD', {'lr': 0.05}, 'the same update'),
            'tensorflow': ('SGD', {'learning_rate': 0.05}, 'the same update'),
            'jax': ('sgd', {'lr': 0.05}, 'the same update')}


@pytest.fixture
def numpy_only(monkeypatch):
    """This machine as one with NumPy only: no framework is found, and importing one fails."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name.split('.')[0] in FRAMEWORKS else real_find_spec(name, *args, **kwargs)
    monkeypatch.setattr(importlib.util, 'find_spec', find_spec)
    for name in FRAMEWORKS:
        monkeypatch.setitem(sys.modules, name, None)                       # "import torch" fails
        monkeypatch.setitem(sys.modules, f'd2l_optim.backends.{name}', None)
    monkeypatch.delenv(BACKENDS_ENV, raising=False)


def test_a_numpy_only_install_says_what_is_missing_and_draws_numpy(numpy_only, capsys):
    runs, fig = cross_backend.overlay_backends('sgd', {'lr': 0.05}, seed=0, num_epochs=1)
    assert list(runs) == ['numpy']
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 1                                        # one curve: what ran
    assert ax.get_title() == 'sgd, seed 0 (numpy only: torch, tensorflow, mxnet, jax not installed)'
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('     numpy: loss: 0.2')
    assert out[1:5] == [f'{name:>10}: not installed here; to add it: {BACKENDS[name][1]}' for name in FRAMEWORKS]
    assert 'pip install "d2l-optim[torch]"' in out[1] and 'pip install "d2l-optim[jax]"' in out[4]
    assert out[5] == ('The figure shows numpy only: torch, tensorflow, mxnet, jax are not installed here '
                      '(install lines above).')
    assert len(out) == 6

    assert cross_backend.add_builtin_runs(runs, BUILTINS) == []            # nothing to compare
    assert list(runs) == ['numpy']
    assert capsys.readouterr().out == (
        'Not run, not installed here: the built-in optimizers of torch, tensorflow, jax '
        f"({BACKENDS['torch'][1]}; {BACKENDS['tensorflow'][1]}; {BACKENDS['jax'][1]}).\n")


def test_one_missing_framework_among_those_asked_for(numpy_only, capsys):
    runs, fig = cross_backend.overlay_backends('sgd', {'lr': 0.05}, backends=['numpy', 'tensorflow'],
                                               num_epochs=1)
    assert list(runs) == ['numpy'] and 'numpy only: tensorflow not installed' in fig.axes[0].get_title()
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [f'tensorflow: not installed here; to add it: {BACKENDS["tensorflow"][1]}',
                       'The figure shows numpy only: tensorflow is not installed here (install lines above).']


def test_frameworks_left_out_on_purpose_are_not_called_missing(capsys, monkeypatch):
    """``$D2L_OPTIM_BACKENDS`` (as the notebook tests set it) limits the backends: the others are
    not listed, and frameworks that are installed but not in ``runs`` get no built-in line."""
    monkeypatch.setenv(BACKENDS_ENV, 'numpy')
    runs, fig = cross_backend.overlay_backends('sgd', {'lr': 0.05}, num_epochs=1)
    assert list(runs) == ['numpy'] and fig.axes[0].get_title() == 'sgd, seed 0'
    installed = {name: BUILTINS[name] for name in BUILTINS if importlib.util.find_spec(name) is not None}
    assert cross_backend.add_builtin_runs(runs, installed) == []
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith('     numpy: loss: 0.2')
