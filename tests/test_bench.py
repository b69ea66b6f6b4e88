"""The benchmark: its structure, ratios computed from the measured numbers, the floors
computing what we compute, the documents it writes. No timing is asserted."""
import json
import math

import pytest

from d2l_optim import bench
from d2l_optim.bench import tables
from d2l_optim.bench import BenchConfig, Measurement, Sample
from d2l_optim.cli import main


@pytest.fixture(scope='module')
def numpy_run():
    return bench.bench_training(BenchConfig.quick(['numpy']))


def _cell(ms, opt, bs):
    return {m.variant: m for m in ms if (m.optimizer, m.batch_size) == (opt, bs)}


def test_quick_run_has_every_cell_and_variant(numpy_run):
    assert {(m.optimizer, m.batch_size, m.variant) for m in numpy_run} == {
        (o, b, v) for o in ('rmsprop', 'adam') for b in (10, 100) for v in bench.VARIANTS}
    for m in numpy_run:
        assert m.epochs == {10: 1, 100: 2}[m.batch_size]
        if m.variant in ('floor', 'scratch', 'concise'):
            assert len(m.samples) == 1 and m.note == ''
            assert 0 < m.sec_per_epoch < m.wall_s
        else:       # NumPy has no compiler and no optimizer library
            assert not m.samples and m.note and m.ratio is None and math.isnan(m.sec_per_epoch)


def test_ratios_are_medians_over_medians_of_the_measured_samples(numpy_run):
    for opt in ('rmsprop', 'adam'):
        for bs in (10, 100):
            c = _cell(numpy_run, opt, bs)
            assert c['floor'].ratio is None
            assert c['scratch'].ratio == c['scratch'].sec_per_epoch / c['floor'].sec_per_epoch
            assert c['scratch'].ratio == c['scratch'].samples[0].sec_per_epoch / c['floor'].samples[0].sec_per_epoch
            # NumPy's concise path runs a core rule: compared with the plain floor
            assert c['concise'].baseline == 'floor'
            assert c['concise'].ratio == c['concise'].sec_per_epoch / c['floor'].sec_per_epoch


def test_the_floor_computes_exactly_what_train_ch11_computes(numpy_run):
    # same seed -> same weights and minibatches; different code, same float32 arithmetic
    for opt, bs in [('rmsprop', 10), ('adam', 10), ('rmsprop', 100), ('adam', 100)]:
        c = _cell(numpy_run, opt, bs)
        assert abs(c['floor'].final_loss - c['scratch'].final_loss) < 1e-6
        assert abs(c['concise'].final_loss - c['scratch'].final_loss) < 1e-6
    # and the runs really trained: 200 rows, one epoch of RMSProp from w ~ N(0, 0.01^2)
    assert _cell(numpy_run, 'rmsprop', 10)['scratch'].final_loss < 0.45


def _m(variant, secs, backend='tensorflow', opt='adam', bs=10):
    return Measurement(backend, opt, bs, variant, 2,
                       samples=[Sample(s, s / 2, s * 3, 0.25) for s in secs])


def test_add_ratios_and_speedups_from_synthetic_numbers():
    ms = [_m('floor', [0.5, 0.4, 0.9]), _m('scratch', [0.55, 0.6, 0.1]),
          _m('floor_compiled', [0.05]), _m('scratch_compiled', [0.06, 0.08]),
          _m('floor_builtin', [1.0]), _m('concise', [1.5]), _m('concise_compiled', [])]
    bench.add_ratios(ms)
    c = {m.variant: m for m in ms}
    assert c['scratch'].sec_per_epoch == 0.55 and c['floor'].sec_per_epoch == 0.5
    assert c['scratch'].ratio == pytest.approx(1.1) and c['scratch'].baseline == 'floor'
    assert c['scratch_compiled'].ratio == pytest.approx(0.07 / 0.05)
    assert c['scratch_compiled'].speedup == pytest.approx(0.55 / 0.07)
    assert c['floor_compiled'].speedup == pytest.approx(10.0)
    assert c['scratch_compiled'].speedup_steady == pytest.approx(0.275 / 0.035)
    assert c['concise'].ratio == pytest.approx(1.5) and c['concise'].baseline == 'floor_builtin'
    assert c['concise_compiled'].ratio is None and c['concise_compiled'].speedup is None


def test_goals_judge_the_measured_numbers():
    ms = [_m('floor', [0.5]), _m('scratch', [0.7]), _m('scratch_compiled', [0.1]),
          _m('floor', [0.1], 'torch'), _m('scratch', [0.11], 'torch'),
          _m('floor', [0.1], 'torch', bs=100), _m('scratch', [0.13], 'torch', bs=100)]
    bench.add_ratios(ms)
    imports = [{'module': 'd2l_optim', 'seconds': 0.12, 'frameworks': [], 'samples': [0.12], 'error': ''}]
    g = {row['goal']: row for row in bench.goals(ms, imports)}
    assert g['train_ch11 vs hand-written loop (tensorflow)']['met'] is False
    assert g['train_ch11 vs hand-written loop (tensorflow)']['measured'] == \
        '1.40x over 1 cells; worst 1.40x (adam, batch 10)'
    # per backend: the geometric mean over cells, sqrt(1.1 * 1.3) = 1.196
    assert g['train_ch11 vs hand-written loop (torch)']['met'] is True
    assert g['train_ch11 vs hand-written loop (torch)']['measured'] == \
        '1.20x over 2 cells; worst 1.30x (adam, batch 100)'
    what = 'tensorflow scratch compile=True vs eager, batch 10'
    assert g[f'{what}, per epoch after the trace']['measured'] == '7.0x (adam)'
    assert g[f'{what}, whole 2-epoch call, trace included']['met'] is True
    assert g['import d2l_optim']['met'] is True
    imports[0]['frameworks'] = ['matplotlib']
    assert [r for r in bench.goals(ms, imports) if r['goal'] == 'import d2l_optim'][0]['met'] is False


def test_config_errors_name_the_bad_value_and_the_choices():
    with pytest.raises(ValueError, match="unknown backend 'caffe'; choose one of: numpy, torch"):
        BenchConfig(['caffe']).validate()
    with pytest.raises(ValueError, match="the bench times rmsprop, adam, not 'sgd'"):
        BenchConfig(['numpy'], optimizers=['sgd']).validate()
    with pytest.raises(ValueError, match=r'batch sizes must be integers in \[1, 1500\], got 0'):
        BenchConfig(['numpy'], batch_sizes=[0]).validate()
    cfg = BenchConfig(['tensorflow', 'torch'], repeats=5, slow_repeats=2)
    assert cfg.repeats_for('tensorflow', 1) == 2 and cfg.repeats_for('tensorflow', 10) == 5
    assert cfg.repeats_for('torch', 1) == 5 and cfg.epochs_for(1) == 1 and cfg.epochs_for(10) == 2


def test_import_of_the_package_loads_no_framework():
    row = bench.import_time('d2l_optim', repeats=1)
    assert row['error'] == '' and row['frameworks'] == [] and row['seconds'] > 0


def test_cpu_model_and_machine_info(tmp_path):
    f = tmp_path / 'cpuinfo'
    f.write_text('processor\t: 0\nmodel name\t: Example CPU @ 2.00GHz\nflags\t: fpu\n')
    assert bench.cpu_model(str(f)) == 'Example CPU @ 2.00GHz'
    info = bench.machine_info(['numpy'])
    assert info['cores'] >= 1 and info['versions']['numpy'] and info['cpu']


def test_readme_block_needs_its_markers():
    with pytest.raises(ValueError, match='no <!-- bench:begin --> ... <!-- bench:end --> markers'):
        tables.replace_readme_block('# title\n', 'x')
    text = f'a\n{tables.README_BEGIN}\nold\n{tables.README_END}\nb\n'
    assert tables.replace_readme_block(text, 'NEW') == 'a\nNEW\nb\n'


def test_cli_quick_writes_json_markdown_and_readme(tmp_path, capsys):
    js, md, readme = tmp_path / 'b.json', tmp_path / 'bench.md', tmp_path / 'README.md'
    readme.write_text(f'# x\n\n{tables.README_BEGIN}\n{tables.README_END}\n\nend\n')
    argv = ['bench', '--quick', '--backends', 'numpy', '--optimizers', 'adam', '--no-imports',
            '--json', str(js), '--markdown', str(md), '--readme', str(readme)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert '| NumPy | adam | 10 | 1 |' in out and 'Machine: ' in out
    report = json.loads(js.read_text())
    assert {m['variant'] for m in report['measurements']} == set(bench.VARIANTS)
    assert report['machine']['cores'] >= 1 and report['config']['n'] == 200
    doc = md.read_text()
    assert doc.startswith('# Benchmarks') and report['machine']['cpu'] in doc
    assert '| NumPy | adam | 100 | 2 |' in doc and '## Goals (issues 8, 11 and 15)' in doc
    text = readme.read_text()
    assert text.startswith('# x\n') and text.endswith('\nend\n') and '| NumPy | adam | 10 |' in text
    # rendering a saved report again measures nothing and gives the same document
    md2 = tmp_path / 'again.md'
    assert main(['bench', '--from-json', str(js), '--markdown', str(md2)]) == 0
    assert md2.read_text() == doc


def test_reports_of_two_environments_merge_into_one_document(tmp_path, capsys):
    """The NumPy 1 environment's report and JAX's (NumPy 2) rendered as one: every row of
    each, a shared row once (from the first), differing versions side by side."""
    a, b = tmp_path / 'a.json', tmp_path / 'b.json'
    for path, opt in ((a, 'adam'), (b, 'rmsprop')):
        assert main(['bench', '--quick', '--backends', 'numpy', '--optimizers', opt, '--json', str(path)]) == 0
    rb = json.loads(b.read_text())
    va = json.loads(a.read_text())['machine']['versions']['numpy']
    other = '2.4.6' if va != '2.4.6' else '1.26.4'        # the other environment's NumPy
    rb['machine']['versions']['numpy'] = other
    rb['machine']['versions']['jax'] = '0.10.2'
    rb['measurements'].append(json.loads(a.read_text())['measurements'][0] | {'note': 'from b'})
    b.write_text(json.dumps(rb))
    md = tmp_path / 'merged.md'
    assert main(['bench', '--from-json', str(a), str(b), '--markdown', str(md)]) == 0
    doc = md.read_text()
    assert '| NumPy | adam | 10 | 1 |' in doc and '| NumPy | rmsprop | 10 | 1 |' in doc
    merged = bench.merge_reports([json.loads(a.read_text()), rb])
    assert merged['machine']['versions']['numpy'] == f'{va} / {other}'
    assert merged['machine']['versions']['jax'] == '0.10.2' and f'numpy {va} / {other}' in doc
    ids = [(m['backend'], m['optimizer'], m['batch_size'], m['variant']) for m in merged['measurements']]
    assert len(ids) == len(set(ids)) == len(json.loads(a.read_text())['measurements']) \
        + len(json.loads(b.read_text())['measurements']) - 1
    assert all(m.get('note') != 'from b' for m in merged['measurements'])
    assert sum(r['module'] == 'd2l_optim' for r in merged['imports']) == 1
    assert main(['bench', '--from-json', str(a), str(tmp_path / 'none.json')]) == 2
    assert 'none.json: no such file' in capsys.readouterr().err


def test_cli_rejects_bad_lists(capsys):
    assert main(['bench', '--backends', 'numpy,caffe', '--quick']) == 2
    assert "unknown backend 'caffe'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['bench', '--batch-sizes', '10,x'])
