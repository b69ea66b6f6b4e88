"""What a notebook shows of the library is the library's current source, math renders, and
TensorFlow starts quietly."""
from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import load_or_skip
from d2l_optim import book, harness, rules
from d2l_optim.display import book_loop, show_doc, show_rule, show_source


def test_show_source_is_inspect_getsource_in_every_form():
    shown = show_source(rules.rmsprop)
    assert shown.code == inspect.getsource(rules.rmsprop)
    assert shown.code in str(shown)
    md = shown._repr_markdown_()
    assert md.startswith('**rmsprop (d2l_optim/rules.py)**') and '```python\ndef rmsprop(' in md
    assert 'class="d2l-source"' in shown._repr_html_()      # Pygments-highlighted


def without_docstring(fn) -> str:
    """inspect.getsource(fn) with the lines of its docstring cut out (found as text, not as
    display.py finds them)."""
    lines = inspect.getsource(fn).splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(('r"""', '"""')))
    opening = lines[start].lstrip()[4 if lines[start].lstrip().startswith('r') else 3:]
    end = start if '"""' in opening else next(i for i in range(start + 1, len(lines)) if '"""' in lines[i])
    return ''.join(lines[:start] + lines[end + 1:])


def _core(name: str) -> str:
    return without_docstring(rules.RULES[name].update)


def test_without_docstring_is_the_source_minus_exactly_the_docstring():
    for name in rules.RULES:
        shown = _core(name)
        assert '"""' not in shown and '.. math::' not in shown, name
        full = ast.parse(textwrap.dedent(inspect.getsource(rules.RULES[name].update))).body[0]
        assert isinstance(full.body[0].value, ast.Constant)          # the docstring, which goes
        full.body = full.body[1:]
        assert ast.unparse(ast.parse(shown).body[0]) == ast.unparse(full), name


def test_show_rule_is_the_equations_once_then_the_code_then_the_book_loop():
    shown = show_rule('adam', 'numpy')
    titles = [t for t, _ in shown.parts]
    assert titles[0] == 'the rule: adam (d2l_optim/rules.py)'
    assert shown.parts[0][1] == _core('adam')                      # the installed code, no docstring
    assert shown.parts[1][1] == without_docstring(rules._adam_step)   # the helper it calls
    assert 'd2l.adam(params, grads, states, hyperparams) on numpy' in titles[2]
    assert shown.parts[2][1] == book_loop('adam', 'numpy')
    for line in ('for p, g, (v, s) in zip(params, grads, states):', 'p[:] = new_p',
                 "hyperparams['t'] = t + 1"):
        assert line in shown.parts[2][1]
    md, text = shown._repr_markdown_(), str(shown)
    for form in (md, text):
        assert '.. math::' not in form and '"""' not in form
        assert 'apply_rule' not in form and 'isinstance' not in form      # no generic dispatch
        assert form.count(r'\beta_1 \mathbf{v}') == 1                     # the equations, once
    assert md.index('$$') < md.index('```python')                         # math first, rendered
    assert shown._repr_html_() is None          # Jupyter shows the Markdown, where $$ renders


@pytest.mark.parametrize('backend, lines', [
    ('numpy', ['def rmsprop(params, grads, states, hyperparams):', 'p[:] = new_p', 's[:] = new_s']),
    ('torch', ['def rmsprop(params, states, hyperparams):', 'with torch.no_grad():',
               'rules.rmsprop(p, p.grad, (s,), hyperparams, 1, xp)', 'p[:] = new_p', 'p.grad.zero_()']),
    ('tensorflow', ['def rmsprop(params, grads, states, hyperparams):', 'p.assign(new_p)', 's.assign(new_s)']),
    ('mxnet', ['def rmsprop(params, states, hyperparams):', 'rules.rmsprop(p, p.grad, (s,)', 'p[:] = new_p']),
    ('jax', ['def rmsprop(params, grads, states, hyperparams):', 'p.assign(new_p)', 's.assign(new_s)']),
])
def test_show_rule_shows_each_frameworks_in_place_write(backend, lines):
    d2l = load_or_skip(backend)
    shown = d2l.show_rule('rmsprop')          # bound by book_api on every backend
    text = str(shown)
    assert shown.parts[0][1] == _core('rmsprop')
    for line in lines:
        assert line in shown.parts[-1][1], (backend, line)
    assert 'apply_rule' not in text and 'isinstance' not in text


@pytest.mark.parametrize('backend', ['numpy', 'torch', 'tensorflow', 'mxnet', 'jax'])
def test_the_shown_book_loop_trains_exactly_as_the_librarys_optimizer(backend):
    """The loop show_rule prints is real: run as a learner would (``d2l`` and ``rules`` in
    scope), it gives the losses and states of ``d2l.<rule>`` on every rule."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f'{backend} is not installed')
    from d2l_optim import load_backend
    assert_book_loops_match_the_library(load_backend(backend))


def test_a_new_adapters_book_loop_writes_through_its_assign():
    """An adapter the display does not know (tests/toy_backend.py) is shown writing through its
    own ``assign``, and that loop trains as ``d2l.<rule>`` does too."""
    import toy_backend
    text = book_loop('adam', toy_backend.BACKEND)
    assert 'd2l.BACKEND.assign(p, new_p)' in text and 'd2l.BACKEND.assign(s, new_s)' in text
    assert_book_loops_match_the_library(toy_backend)


def assert_book_loops_match_the_library(d2l) -> None:
    import numpy as np
    data_iter, dim = d2l.get_data_ch11(10, n=400, seed=0)
    for rule in rules.RULES.values():
        namespace = {'d2l': d2l, 'rules': rules}
        if d2l.BACKEND.name == 'torch':
            import torch
            namespace['torch'] = torch
        exec(book_loop(rule.name, d2l.BACKEND), namespace)
        loop = namespace[rule.book_name]
        runs, finals = [], []
        for fn in (loop, getattr(d2l, rule.book_name)):
            states = getattr(d2l, rule.init_name)(dim) if rule.n_states else None
            runs.append(d2l.fit_ch11(fn, states, dict(rule.defaults), data_iter, dim, num_epochs=2,
                                     seed=0).losses)
            flat = [] if states is None else [s for st in states for s in (st if isinstance(st, tuple) else (st,))]
            finals.append([np.asarray(d2l.BACKEND.to_numpy(s)) for s in flat])
        assert len(runs[0]) >= 4 and runs[0][-1] < runs[0][0], rule.name
        np.testing.assert_allclose(runs[0], runs[1], rtol=1e-6, err_msg=rule.name)
        assert len(finals[0]) == 2 * rule.n_states, rule.name
        for a, b in zip(*finals):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12, err_msg=rule.name)


def test_show_doc_renders_math_in_jupyter_and_shows_the_latex_in_a_terminal():
    for name in rules.RULES:
        doc = show_doc(name)
        assert '.. math::' not in doc._repr_markdown_() and '.. math::' not in str(doc), name
        assert '$$' in doc._repr_markdown_(), name
    assert '\n    \\mathbf{x} \\leftarrow \\mathbf{x} - \\eta \\mathbf{g}\n' in str(show_doc('sgd'))
    adadelta = show_doc(rules.adadelta)
    assert r'\begin{aligned}' in adadelta._repr_markdown_() and r"\mathbf{g}' &= \frac" in adadelta._repr_markdown_()
    rows = [line for line in str(adadelta).splitlines() if line.startswith('    ')]
    assert len(rows) == 4 and rows[2] == r"    \mathbf{x} &\leftarrow \mathbf{x} - \mathbf{g}'"   # a row per line
    assert r"Frameworks multiply $\mathbf{g}'$ by" in str(adadelta)            # inline math between $
    assert str(show_doc(book.book_optimizer)).startswith('book_optimizer (d2l_optim/book.py)')


def _run(cells: list[str], tmp_path) -> list:
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name='python3',
                            resources={'metadata': {'path': str(tmp_path)}}).execute()
    return nb.cells


def test_an_executed_notebook_shows_the_current_source_and_rendered_math(tmp_path):
    cells = _run(['from d2l_optim.backends import numpy as d2l', "d2l.show_rule('rmsprop')",
                  "d2l.show_doc('rmsprop')", "d2l.show_source(d2l.train_ch11)"], tmp_path)
    for cell in cells:
        for out in cell.outputs:
            text = out.get('text', '') + ''.join(str(v) for v in out.get('data', {}).values())
            assert '.. math::' not in text
    rule_out = cells[1].outputs[0]['data']
    assert _core('rmsprop') in rule_out['text/plain']
    assert '```python\n' + _core('rmsprop').rstrip() + '\n```' in rule_out['text/markdown']
    assert '$$' in rule_out['text/markdown'] and 'text/html' not in rule_out
    assert inspect.getsource(rules.rmsprop) not in rule_out['text/plain']       # the docstring is not code
    source_out = cells[3].outputs[0]['data']
    assert inspect.getsource(harness.train_ch11).rstrip() in source_out["text/plain"]
    doc_out = cells[2].outputs[0]['data']
    assert '$$' in doc_out['text/markdown'] and '.. math::' not in doc_out['text/markdown']
    assert '.. math::' not in doc_out['text/plain'] and r'\gamma \mathbf{s} + (1 - \gamma)' in doc_out['text/plain']


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
