"""The slider callback: ``redraw`` recomputes the trajectory with the core rule through
``train_2d`` (the same points), updates one display handle, and the widgets call it."""
from __future__ import annotations

import pytest

from d2l_optim import sliders
from d2l_optim.harness import train_2d, trainer_2d
from d2l_optim.sliders import HOW_TO_GET_SLIDERS, trajectory_sliders


def f_ill(x1, x2):
    return 0.1 * x1 ** 2 + 2 * x2 ** 2


def f_ill_grad(x1, x2):
    return 0.2 * x1, 4 * x2


SLIDERS = {'lr': (0.05, 1.0, 0.05, 0.6), 'momentum': (0.0, 0.95, 0.05, 0.5), 'steps': (5, 60, 5, 20)}


class FakeHandle:
    def __init__(self):
        self.updates = []

    def update(self, obj):
        self.updates.append(obj)


def test_redraw_is_train_2d_of_the_core_rule(capsys):
    s = trajectory_sliders(f_ill, f_ill_grad, 'momentum', SLIDERS)
    assert s.redraw() == pytest.approx((0.007188, 0.002553), abs=1e-6)       # the book's 11.6 trace
    for values in ({'lr': 0.4}, {'momentum': 0.9, 'steps': 35}, {'lr': 0.05, 'steps': 5}):
        end = s.redraw(**values)
        hp = {k: v for k, v in s.values.items() if k != 'steps'}
        expected = train_2d(trainer_2d('momentum', f_ill_grad, **hp), s.values['steps'])
        assert end == expected[-1]
        assert s.results == expected
    assert capsys.readouterr().out.count('epoch') == 3         # only the reference runs printed
    assert s.values == {'lr': 0.05, 'momentum': 0.9, 'steps': 5}
    assert 'momentum lr=0.05 momentum=0.9 steps=5' in s.caption()


def test_redraw_updates_one_display_handle_with_a_png():
    s = trajectory_sliders(f_ill, f_ill_grad, 'rmsprop', {'eta': (0.05, 1.0, 0.05, 0.4),
                                                          'gamma': (0.0, 0.99, 0.01, 0.9)})
    s.handle = FakeHandle()
    end = s.redraw()
    assert end == pytest.approx((-0.010599, 0.0), abs=1e-6)                # the book's 11.8 trace
    s.redraw(gamma=0.5)
    assert len(s.handle.updates) == 2
    png = s.handle.updates[-1]._repr_png_()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    assert 'gamma=0.5' in repr(s.handle.updates[-1])


def test_widgets_call_redraw():
    pytest.importorskip('ipywidgets')
    s = trajectory_sliders(f_ill, f_ill_grad, 'momentum', SLIDERS)
    s.redraw()
    box = s.widgets()
    by_name = {w.description: w for w in box.children}
    assert set(by_name) == {'lr', 'momentum', 'steps'}
    assert (by_name['lr'].min, by_name['lr'].max, by_name['lr'].step) == (0.05, 1.0, 0.05)
    by_name['steps'].value = 40
    by_name['momentum'].value = 0.25
    expected = train_2d(trainer_2d('momentum', f_ill_grad, lr=0.6, momentum=0.25), 40)
    assert s.results == expected


def test_static_figure_and_the_sentence_where_widgets_cannot_display(monkeypatch, capsys):
    monkeypatch.setenv('D2L_OPTIM_WIDGETS', '0')
    assert sliders.widgets_unavailable() == 'D2L_OPTIM_WIDGETS=0'
    monkeypatch.delenv('D2L_OPTIM_WIDGETS')
    monkeypatch.setenv('CI', 'true')
    assert sliders.widgets_unavailable() == 'running under CI'
    monkeypatch.delenv('CI')
    assert sliders.widgets_unavailable() in ('not in a Jupyter kernel', 'not in Jupyter')   # pytest
    s = trajectory_sliders(f_ill, f_ill_grad, 'momentum', SLIDERS).show()
    out = capsys.readouterr().out
    assert HOW_TO_GET_SLIDERS in out and 'pip install "d2l-optim[notebooks]"' in out
    assert 'x1 0.007188' in out and s.fig is not None


def test_bad_sliders_are_one_clear_error():
    with pytest.raises(ValueError, match=r"slider 'lr' must be \(lo, hi, step, default\)"):
        trajectory_sliders(f_ill, f_ill_grad, 'sgd', {'lr': (0.1, 1.0, 0.1, 2.0)})
    s = trajectory_sliders(f_ill, f_ill_grad, 'sgd', {'lr': (0.1, 1.0, 0.1, 0.4)})
    with pytest.raises(ValueError, match='unknown slider.* gamma; the sliders are: lr, steps'):
        s.redraw(gamma=0.9)


def test_in_a_kernel_the_sliders_fall_back_to_the_sentence_where_they_cannot_draw(tmp_path, monkeypatch):
    """Executed headless (as nbconvert does), the cell holds the figure as a PNG and the
    sliders' widget view whose plain-text form is the sentence saying how to get them."""
    monkeypatch.delenv('CI', raising=False)       # CI itself draws the static figure only
    monkeypatch.delenv('D2L_OPTIM_WIDGETS', raising=False)
    pytest.importorskip('ipywidgets')
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    cell = ("from d2l_optim.sliders import trajectory_sliders\n"
            "f = lambda x1, x2: 0.1 * x1 ** 2 + 2 * x2 ** 2\n"
            "g = lambda x1, x2: (0.2 * x1, 4 * x2)\n"
            "trajectory_sliders(f, g, 'momentum', {'lr': (0.05, 1.0, 0.05, 0.6), "
            "'momentum': (0.0, 0.95, 0.05, 0.5)}).show();")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3',
                            resources={'metadata': {'path': str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    figure, sliders_out = [o for o in outputs if o.get('output_type') == 'display_data']
    assert 'image/png' in figure['data'] and 'x1 0.007188' in figure['data']['text/plain']
    assert 'application/vnd.jupyter.widget-view+json' in sliders_out['data']
    assert sliders_out['data']['text/plain'] == HOW_TO_GET_SLIDERS
