"""Notebooks 11.6-11.11: the exercises are computed in the notebooks' own cells.

Fast checks that the cells hold the computation (no call into a library function that
answers an exercise) and that every optimizer notebook lets the learner write and check
the rule; plus 11.11 executed on NumPy with its exercise numbers asserted (``EXPECTED``
in tests/test_notebooks.py; tests/test_lenet.py runs the same notebook for its five runs).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip('nbformat')

ROOT = Path(__file__).resolve().parents[1]
LATE = {'11.6': 'momentum', '11.7': 'adagrad', '11.8': 'rmsprop', '11.9': 'adadelta',
        '11.10': 'adam', '11.11': None}
#: library functions that once answered an exercise; the notebooks now compute it in a cell
MOVED = ('quadratic_descent', 'effective_sample_weight', 'rmsprop_gamma_one', 'rotated_comparison',
         'reddi_problem', 'adam_vs_yogi_figure', 'train_scratch')


def _notebook(section: str):
    (path,) = (ROOT / 'notebooks').glob(f'{section}-*.ipynb')
    return nbformat.read(path, as_version=4)


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == 'code']


@pytest.mark.parametrize('section', list(LATE))
def test_exercises_are_computed_in_the_cells(section):
    nb = _notebook(section)
    code = '\n'.join(_code(nb))
    for name in MOVED:
        assert not re.search(rf'\b{name}\b', code), f'{section} calls {name}; compute it in the cell'
    assert not re.search(r'\bex\.|experiments as ex', code), f'{section} still calls experiments.py'
    after = ''.join(c.source for c in nb.cells[[i for i, c in enumerate(nb.cells)
                                                 if '## Exercises' in c.source
                                                 or "### The book's exercises" in c.source][0]:]
                    if c.cell_type == 'code')
    assert after.count('print(') >= 3, f'{section}: exercises print their numbers'


@pytest.mark.parametrize('section', [s for s, rule in LATE.items() if rule])
def test_optimizer_notebooks_show_the_rule_and_check_the_learners_version(section):
    rule = LATE[section]
    code = _code(_notebook(section))
    assert f"d2l.show_rule('{rule}')" in code
    (mine,) = [c for c in code if c.startswith(f'def my_{rule}(p, g, state, hp, t, xp):')]
    assert '# BEGIN SOLUTION' in mine and '# END SOLUTION' in mine
    assert f"d2l.check(my_{rule}, '{rule}')" in code
    assert any(f"d2l.book_form(my_{rule}, '{rule}')" in c and 'train_ch11' in c for c in code)
    if section in ('11.8', '11.10'):
        (form,) = [c for c in code if c.startswith(f"# The book's {'RMSProp' if rule == 'rmsprop' else 'Adam'}")]
        for backend in ('numpy', 'torch', 'tensorflow', 'mxnet', 'jax'):
            assert f'def {rule}_{backend}(' in form and f"'{backend}': {rule}_{backend}" in form
        assert f"d2l.check(book_{rule}, '{rule}')" in code


def test_the_solution_cells_pass_check_on_numpy():
    """Each your-turn solution (and the NumPy book form of 11.8 and 11.10) equals the library's rule."""
    import numpy as np
    from d2l_optim import check
    for section, rule in LATE.items():
        if rule is None:
            continue
        code = _code(_notebook(section))
        scope = {'np': np, 'BACKEND': 'numpy'}
        for cell in code:
            if cell.startswith('def my_') or cell.startswith("# The book's"):
                exec(cell, scope)
        assert check(scope[f'my_{rule}'], rule), section
        if f'book_{rule}' in scope:
            assert check(scope[f'book_{rule}'], rule), section
