"""The slider callback: ``redraw`` recomputes the trajectory with the core rule through
``train_2d`` (the same points) and refills the figure widget (an ``ipywidgets.Image``, widget
state the kernel keeps, so a reloaded page still redraws); the sliders call it; ``show``
displays one widget and returns None (no stale text line under it)."""
from __future__ import annotations

import pytest

from d2l_optim import sliders
from d2l_optim.trajectories import train_2d, trainer_2d
from d2l_optim.sliders import HOW_TO_GET_SLIDERS, trajectory_sliders


def f_ill(x1, x2):
    return 0.1 * x1 ** 2 + 2 * x2 ** 2


def f_ill_grad(x1, x2):
    return 0.2 * x1, 4 * x2


SLIDERS = {'lr': (0.05, 1.0, 0.05, 0.6), 'momentum': (0.0, 0.95, 0.05, 0.5), 'steps': (5, 60, 5, 20)}


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


def test_redraw_refills_the_figure_widget():
    w = pytest.importorskip('ipywidgets')
    s = trajectory_sliders(f_ill, f_ill_grad, 'rmsprop', {'eta': (0.05, 1.0, 0.05, 0.4),
                                                          'gamma': (0.0, 0.99, 0.01, 0.9)})
    image = s.figure_widget()
    assert isinstance(image, w.Image) and isinstance(image, w.DOMWidget) and image.format == 'png'
    assert s.results[-1] == pytest.approx((-0.010599, 0.0), abs=1e-6)     # the book's 11.8 trace
    before = image.value
    assert before[:8] == b'\x89PNG\r\n\x1a\n' and before == s.png()
    s.redraw(gamma=0.5)
    assert image.value != before and image.value == s.png()                # the new trajectory
    assert s.figure_widget() is image                                      # one widget, refilled
    assert 'gamma=0.5' in s.caption()
    box = s.widget()
    assert isinstance(box, w.VBox) and box.children[0] is image and s.widget() is box


def test_widgets_call_redraw():
    pytest.importorskip('ipywidgets')
    s = trajectory_sliders(f_ill, f_ill_grad, 'momentum', SLIDERS)
    image = s.widget().children[0]
    box = s.widgets()
    by_name = {w.description: w for w in box.children}
    assert set(by_name) == {'lr', 'momentum', 'steps'}
    assert (by_name['lr'].min, by_name['lr'].max, by_name['lr'].step) == (0.05, 1.0, 0.05)
    shown = [image.value]
    image.observe(lambda change: shown.append(change['new']), names='value')
    by_name['steps'].value = 40
    by_name['momentum'].value = 0.25
    expected = train_2d(trainer_2d('momentum', f_ill_grad, lr=0.6, momentum=0.25), 40)
    assert s.results == expected
    assert len(shown) == 3 and len(set(shown)) == 3          # each move put a new PNG in the figure


def test_static_figure_and_the_sentence_where_widgets_cannot_display(monkeypatch, capsys):
    monkeypatch.setenv('D2L_OPTIM_WIDGETS', '0')
    assert sliders.widgets_unavailable() == 'D2L_OPTIM_WIDGETS=0'
    monkeypatch.delenv('D2L_OPTIM_WIDGETS')
    monkeypatch.setenv('CI', 'true')
    assert sliders.widgets_unavailable() == 'running under CI'
    monkeypatch.delenv('CI')
    assert sliders.widgets_unavailable() in ('not in a Jupyter kernel', 'not in Jupyter')   # pytest
    s = trajectory_sliders(f_ill, f_ill_grad, 'momentum', SLIDERS)
    assert s.show() is None
    out = capsys.readouterr().out
    assert HOW_TO_GET_SLIDERS in out and 'pip install "d2l-optim[notebooks]"' in out
    assert 'x1 0.007188' in out and s.fig is not None and s.image is None


def test_bad_sliders_are_one_clear_error():
    with pytest.raises(ValueError, match=r"slider 'lr' must be \(lo, hi, step, default\)"):
        trajectory_sliders(f_ill, f_ill_grad, 'sgd', {'lr': (0.1, 1.0, 0.1, 2.0)})
    s = trajectory_sliders(f_ill, f_ill_grad, 'sgd', {'lr': (0.1, 1.0, 0.1, 0.4)})
    with pytest.raises(ValueError, match='unknown slider.* gamma; the sliders are: lr, steps'):
        s.redraw(gamma=0.9)


def test_in_a_kernel_one_widget_and_no_text_line(tmp_path, monkeypatch):
    """Executed headless (as nbconvert does), each slider cell holds one output: the widget's
    view (figure and sliders), with the figure as a PNG and the sentence saying how to get the
    sliders for front ends that cannot draw widgets; no ``Out`` line, whether the cell ends in
    ``.show()`` or in the object itself. In the live kernel, moving a slider refills the Image
    widget in that view."""
    monkeypatch.delenv('CI', raising=False)       # CI itself draws the static figure only
    monkeypatch.delenv('D2L_OPTIM_WIDGETS', raising=False)
    pytest.importorskip('ipywidgets')
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    cells = ["from d2l_optim.sliders import trajectory_sliders\n"
             "f = lambda x1, x2: 0.1 * x1 ** 2 + 2 * x2 ** 2\n"
             "g = lambda x1, x2: (0.2 * x1, 4 * x2)\n"
             "sliders = trajectory_sliders(f, g, 'momentum', {'lr': (0.05, 1.0, 0.05, 0.6), "
             "'momentum': (0.0, 0.95, 0.05, 0.5)})\n"
             "sliders.show()",
             "sliders",
             "import ipywidgets\n"
             "before = sliders.image.value\n"
             "sliders.widgets().children[0].value = 0.3\n"
             "print(isinstance(sliders.image, ipywidgets.Image), sliders.image.value != before, "
             "sliders.image.value == sliders.png(), sliders.values['lr'])"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3',
                            resources={'metadata': {'path': str(tmp_path)}}).execute()
    for cell in nb.cells[:2]:
        (out,) = cell.outputs
        assert out['output_type'] == 'display_data'
        data = out['data']
        assert 'application/vnd.jupyter.widget-view+json' in data and 'image/png' in data
        assert data['text/plain'] == HOW_TO_GET_SLIDERS and HOW_TO_GET_SLIDERS in data['text/html']
        assert 'x1 0.007188' in data['text/html']                      # the caption, as alt text
    ids = {c.outputs[0]['data']['application/vnd.jupyter.widget-view+json']['model_id'] for c in nb.cells[:2]}
    assert len(ids) == 1                                                # the same widget, twice
    assert nb.cells[2].outputs[0]['text'] == 'True True True 0.3\n'
