"""The book's code run as a plain script prints only the book's lines (no figure reprs,
no terminal control codes), and its figure can still be saved."""
import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    from d2l_optim.backends import {backend} as d2l

    def f_grad(x1, x2):
        return 0.2 * x1, 4 * x2

    d2l.show_trace_2d(lambda x1, x2: 0.1 * x1 ** 2 + 2 * x2 ** 2,
                      d2l.train_2d(d2l.trainer_2d('rmsprop', f_grad, eta=0.4, gamma=0.9)))
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    d2l.train_ch11(d2l.rmsprop, d2l.init_rmsprop_states(feature_dim),
                   {{'lr': 0.01, 'gamma': 0.9}}, data_iter, feature_dim)
    run = d2l.fit_ch11(d2l.adam, d2l.init_adam_states(feature_dim), {{'lr': 0.01}},
                       data_iter, feature_dim, seed=0)
    run.animator.save({png!r})
    d2l.plt.show()
''')

BACKENDS = ['numpy'] + [b for b in ('torch', 'tensorflow', 'mxnet') if importlib.util.find_spec(b)]


@pytest.mark.parametrize('backend', BACKENDS)
def test_script_prints_only_the_book_lines(backend, tmp_path):
    png = tmp_path / 'adam.png'
    script = tmp_path / 'section_11_8.py'
    script.write_text(SCRIPT.format(backend=backend, png=str(png)))
    env = {k: v for k, v in os.environ.items() if k not in ('MPLBACKEND', 'DISPLAY')}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == 'epoch 20, x1: -0.010599, x2: 0.000000'
    assert len(lines) == 2 and re.fullmatch(r'loss: 0\.2[45]\d, \d\.\d{3} sec/epoch', lines[1]), lines
    assert '\x1b' not in out.stdout and '<Figure' not in out.stdout
    assert png.read_bytes()[:4] == b'\x89PNG'


def test_jupyter_updates_the_figure_in_place_and_keeps_earlier_output():
    """In a kernel the Animator draws through one display handle: lines printed earlier in the
    cell stay, and the cell ends with a single figure (the book's clear_output wipes both)."""
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent('''
        from d2l_optim.backends import numpy as d2l
        print('printed before training')
        data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
        d2l.train_ch11(d2l.rmsprop, d2l.init_rmsprop_states(feature_dim),
                       {'lr': 0.01, 'gamma': 0.9}, data_iter, feature_dim, seed=0);
    ''')))
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}
    old = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name='python3').execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    outputs = nb.cells[0].outputs
    text = ''.join(o.get('text', '') for o in outputs if o.output_type == 'stream')
    assert text.startswith('printed before training\n')
    assert re.search(r'^loss: 0\.245, \d\.\d{3} sec/epoch$', text, re.M), text
    figures = [o for o in outputs if o.output_type == 'display_data' and 'image/png' in o.data]
    assert len(figures) == 1, [o.output_type for o in outputs]
    assert '<Figure' not in text
