"""``reproduce`` compiles TensorFlow's and MXNet's training steps only where that gives the
eager losses to 1e-5, and says per row which mode ran; ``--eager`` turns it off."""
import os

import pytest

from conftest import load_or_skip
from d2l_optim.backend import load_backend
from d2l_optim.reproduce import AIRFOIL_SECTIONS, COMPILED, MXNET_HYBRID, CompiledHarnesses

TOL = 1e-5


def _airfoil_experiments():
    from d2l_optim import sections as ex
    return [e for e in ex.select(AIRFOIL_SECTIONS) if e.per_backend and e.name != 'matmul-gflops']


@pytest.mark.parametrize('backend', sorted({*COMPILED, MXNET_HYBRID[0]}))
def test_compiled_rows_give_the_eager_losses(backend, monkeypatch):
    if os.environ.get('D2L_OPTIM_TEST_ENV') == 'numpy2' and backend != 'jax':
        pytest.skip(f'{backend} is compared in the first test environment (minutes of training)')
    d2l = load_or_skip(backend)         # the adapter, which restores numpy.bool for MXNet first
    from d2l_optim import sections as ex
    if backend == MXNET_HYBRID[0]:      # equal but slower, so off by default: check it anyway
        monkeypatch.setitem(COMPILED, *MXNET_HYBRID)
    compiled, eager = CompiledHarnesses(d2l), CompiledHarnesses(d2l, eager=True)
    ctx_c, ctx_e = ex.Context(0), ex.Context(0)
    checked, worst = 0, 0.0
    for exp in _airfoil_experiments():
        got = ex.run(exp, compiled, ctx_c)
        mode_c = compiled.mode()
        ref = ex.run(exp, eager, ctx_e)
        mode_e = eager.mode()
        if not mode_c:                  # no airfoil training run in this experiment
            continue
        assert mode_e == 'eager', (exp.key, mode_e)
        if mode_c == 'eager':           # MXNet's scratch harness has no compiled step
            assert backend == 'mxnet' and 'concise' not in exp.name, exp.key
            continue
        assert mode_c == f'compiled ({COMPILED[backend][1]})', (exp.key, mode_c)
        assert len(got.runs) == len(ref.runs) >= 1
        for a, b in zip(got.runs, ref.runs):
            assert len(a.losses) == len(b.losses) and a.x == b.x
            worst = max(worst, max(abs(u - v) for u, v in zip(a.losses, b.losses)))
        for k, v in ref.values.items():
            if isinstance(v, float) and k in ('loss',):
                assert got.values[k] == pytest.approx(v, abs=TOL), exp.key
        checked += 1
    assert checked >= 6 and worst <= TOL, (checked, worst)


def test_modes_are_recorded_and_eager_is_eager():
    d2l = load_backend('numpy')
    wrapped = CompiledHarnesses(d2l)
    from d2l_optim.sections.airfoil_runs import train_scratch
    run = train_scratch(wrapped, 'adam', seed=0, verbose=False)
    assert wrapped.mode() == 'eager' and wrapped.mode() == ''      # nothing to compile on NumPy
    assert run.losses == train_scratch(d2l, 'adam', seed=0, verbose=False).losses
    tf_harnesses, how = COMPILED['tensorflow']
    assert tf_harnesses == ('fit_ch11', 'fit_concise_ch11') and how == 'tf.function'
    assert 'mxnet' not in COMPILED and 'torch' not in COMPILED and 'numpy' not in COMPILED
    assert MXNET_HYBRID[1][0] == ('fit_concise_ch11',)     # Gluon hybridizes the concise path only
    mx = CompiledHarnesses(type('M', (), {'BACKEND': type('B', (), {'name': 'mxnet'}),
                                          'fit_concise_ch11': staticmethod(lambda **k: k)}))
    assert mx.fit_concise_ch11() == {} and mx.mode() == 'eager'


def test_reproduce_report_says_the_mode_of_each_row(tmp_path):
    pytest.importorskip('tensorflow')
    from d2l_optim.reproduce import reproduce
    for eager in (False, True):
        out = tmp_path / ('eager' if eager else 'compiled')
        result = reproduce(['tensorflow'], ['11.8'], out, eager=eager)
        rows = [r for r in result['rows'] if r.backend == 'tensorflow']
        assert rows and not any(r.error for r in rows)
        want = 'mode: eager' if eager else 'mode: compiled (tf.function)'
        assert all(want in r.note for r in rows), [r.note for r in rows]
        assert want in (out / 'report.md').read_text()
