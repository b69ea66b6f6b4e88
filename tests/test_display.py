"""What a notebook shows of the library is the library's current source, math renders, and
TensorFlow starts quietly."""
from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys

import pytest

from d2l_optim import book, rules
from d2l_optim.display import latex_to_text, show_doc, show_rule, show_source


def test_show_source_is_inspect_getsource_in_every_form():
    shown = show_source(rules.rmsprop)
    assert shown.code == inspect.getsource(rules.rmsprop)
    assert shown.code in str(shown)
    md = shown._repr_markdown_()
    assert md.startswith('**rmsprop (d2l_optim/rules.py)**') and '```python\ndef rmsprop(' in md
    assert 'class="d2l-source"' in shown._repr_html_()      # Pygments-highlighted


def _core(name: str) -> str:
    return inspect.getsource(rules.RULES[name].update)


def test_show_rule_on_numpy_is_the_rule_plus_the_adapter_lines():
    shown = show_rule('adam', 'numpy')
    titles = [t for t, _ in shown.parts]
    assert titles[0] == 'the rule: adam (d2l_optim/rules.py)'
    assert shown.parts[0][1] == _core('adam')
    assert shown.parts[1][1] == inspect.getsource(rules._adam_step)         # the helper it calls
    assert 'd2l.adam(params, grads, states, hyperparams)' in titles[2]
    assert 'assign(p, value)' in shown.parts[2][1] and 'def optimizer' not in shown.parts[2][1]
    assert 'target[...] = value' in str(shown)


@pytest.mark.parametrize('backend, lines', [
    ('torch', ['d2l.rmsprop(params, states, hyperparams)', 'target.copy_(value)', 'torch.no_grad',
               'update(params, [grad(p) for p in params], states, hyperparams)', 'grad = lambda p: p.grad']),
    ('tensorflow', ['d2l.rmsprop(params, grads, states, hyperparams)', 'target.assign(value)',
                    'tf.GradientTape()']),
    ('mxnet', ['d2l.rmsprop(params, states, hyperparams)', 'target[:] = value', 'autograd.record()']),
    ('jax', ['d2l.rmsprop(params, grads, states, hyperparams)', 'target.value = value']),
])
def test_show_rule_names_each_frameworks_in_place_write(backend, lines):
    if importlib.util.find_spec(backend) is None:        # not imported here: MXNet needs its adapter's shims
        pytest.skip(f'{backend} is not installed')
    from d2l_optim import load_backend
    d2l = load_backend(backend)
    shown = d2l.show_rule('rmsprop')          # bound by book_api on every backend
    text = str(shown)
    assert shown.parts[0][1] == _core('rmsprop')
    for line in lines:
        assert line in text, (backend, line)
    assert inspect.getsource(d2l.BACKEND.assign).strip() in text


def test_show_doc_renders_math_and_reads_in_a_terminal():
    for name in rules.RULES:
        doc = show_doc(name)
        assert '.. math::' not in doc._repr_markdown_() and '.. math::' not in str(doc), name
        assert '$$' in doc._repr_markdown_(), name
    assert '    x ← x − η g' in str(show_doc('sgd'))
    assert 'x ← x − η/√(s + ε) g' in str(show_doc('rmsprop'))
    adadelta = show_doc(rules.adadelta)._repr_markdown_()
    assert r'\begin{aligned}' in adadelta and r"\mathbf{g}' &= \frac" in adadelta
    assert str(show_doc(book.book_optimizer)).startswith('book_optimizer (d2l_optim/book.py)')
    assert latex_to_text(r'\frac{\eta}{\sqrt{\mathbf{s}_t + \epsilon}}') == 'η/√(sₜ + ε)'
    assert latex_to_text(r'\eta_t = \eta_0 (t + 1)^{-\frac{1}{2}}') == 'ηₜ = η₀ (t + 1)^(-1/2)'


def _run(cells: list[str], tmp_path) -> list:
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name='python3',
                            resources={'metadata': {'path': str(tmp_path)}}).execute()
    return nb.cells


def test_an_executed_notebook_shows_the_current_source_and_rendered_math(tmp_path):
    cells = _run(['from d2l_optim.backends import numpy as d2l', "d2l.show_rule('rmsprop')",
                  "d2l.show_doc('rmsprop')"], tmp_path)
    rule_out = cells[1].outputs[0]['data']
    assert inspect.getsource(rules.rmsprop) in rule_out['text/plain']
    assert '```python\n' + inspect.getsource(rules.rmsprop).rstrip() in rule_out['text/markdown']
    assert 'text/html' in rule_out
    doc_out = cells[2].outputs[0]['data']
    assert '$$' in doc_out['text/markdown'] and '.. math::' not in doc_out['text/markdown']
    assert '.. math::' not in doc_out['text/plain'] and 'γ s + (1 − γ) g²' in doc_out['text/plain']


TF_LOG_MARKERS = ('cpu_feature_guard', 'absl::InitializeLog', 'oneDNN', 'I0000 ', 'W0000 ',
                  'This TensorFlow binary is optimized')


def tf_log_lines(cells) -> list[str]:
    """TensorFlow/absl start-up lines in any output of executed cells."""
    found = []
    for c in cells:
        for o in c.get('outputs', []):
            text = o.get('text', '') + ''.join(str(v) for v in o.get('data', {}).values())
            found += [line for line in text.splitlines() if any(m in line for m in TF_LOG_MARKERS)]
    return found


def test_tensorflow_starts_quietly_in_a_notebook(tmp_path, monkeypatch):
    if importlib.util.find_spec('tensorflow') is None:
        pytest.skip('tensorflow is not installed')
    monkeypatch.delenv('TF_CPP_MIN_LOG_LEVEL', raising=False)
    cells = _run(['from d2l_optim.backends import tensorflow as d2l',
                  'data_iter, dim = d2l.get_data_ch11(10, n=100)\n'
                  'd2l.train_ch11(d2l.sgd, None, {"lr": 0.05}, data_iter, dim, 1)'], tmp_path)
    assert tf_log_lines(cells) == []
    assert any('loss:' in o.get('text', '') for o in cells[1].outputs)


def test_no_deprecation_warning_from_our_code():
    """The teaching pieces and the section modules, run with DeprecationWarning as an error."""
    code = ('import d2l_optim.sections, d2l_optim.sections.lr_scheduling\n'
            'from d2l_optim.backends import numpy as d2l\n'
            'from d2l_optim.sliders import trajectory_sliders\n'
            'str(d2l.show_rule("adam")); d2l.show_rule("yogi")._repr_html_(); str(d2l.show_doc("adadelta"))\n'
            's = trajectory_sliders(lambda a, b: a * a + 2 * b * b, lambda a, b: (2 * a, 4 * b), "sgd",\n'
            '                       {"lr": (0.01, 0.6, 0.01, 0.1)})\n'
            'print(s.redraw(lr=0.2)); s.view()._repr_png_()\n')
    out = subprocess.run([sys.executable, '-W', 'error::DeprecationWarning', '-c', code],
                         capture_output=True, text=True, env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith('(-0.000')
