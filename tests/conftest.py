"""Test setup: headless plots, the data directory beside the clone (../shared/data), and
what many test files share: the backends and the table of rules.

* ``load_or_skip(name)``: the backend module ``d2l_optim.backends.<name>``, or a skip that
  says why it cannot run here (the install line, or the adapter's own reason, e.g. MXNet
  on NumPy 2);
* the ``d2l`` fixture: a test that takes it runs once per backend in ``BACKENDS``;
* ``ALL_RULES``: the chapter's rules (``RULES``) and those beyond it (nesterov), as the
  ``rule`` fixture (one test per rule, ids the rule names) and ``BOOK_RULES`` the chapter's alone
  (the ``book_rule`` fixture).

Test files import the names (``from conftest import load_or_skip``): ``tests/`` is on
``sys.path`` under pytest, as for ``lab_fixtures``.
"""
import os
from pathlib import Path

import pytest

os.environ.setdefault('MPLBACKEND', 'Agg')
# the assertions are English: a machine whose locale is Chinese or Japanese still tests in English
# (tests/test_i18n.py sets the language itself; a localized notebook calls set_language)
os.environ['D2L_OPTIM_LANG'] = 'en'
_shared = Path(__file__).resolve().parents[2] / 'shared' / 'data'
if 'D2L_OPTIM_DATA_DIR' not in os.environ and _shared.is_dir():
    os.environ['D2L_OPTIM_DATA_DIR'] = str(_shared)

from d2l_optim.backend import BACKENDS, BackendUnavailable, load_backend, not_installed  # noqa: E402
from d2l_optim.rules import EXTRA_RULES, RULES  # noqa: E402

#: the chapter's seven rules, in the book's order
BOOK_RULES = list(RULES.values())
#: every rule the library has: the chapter's, then those beyond it (nesterov)
ALL_RULES = [*BOOK_RULES, *EXTRA_RULES.values()]


def load_or_skip(name: str):
    """``d2l_optim.backends.<name>``, or skip the test with the reason it cannot load here."""
    why = not_installed(name)           # cheap: nothing is imported
    if why:
        pytest.skip(why)
    try:
        return load_backend(name)       # the adapter, which patches MXNet's numpy.bool first
    except BackendUnavailable as e:     # installed but unusable here (MXNet on NumPy 2)
        pytest.skip(str(e))


@pytest.fixture(params=list(BACKENDS))
def d2l(request):
    """Each backend module in turn (``from d2l_optim.backends import torch as d2l``)."""
    return load_or_skip(request.param)


@pytest.fixture(params=ALL_RULES, ids=lambda rule: rule.name)
def rule(request):
    """Each :class:`~d2l_optim.rules.Rule` in turn, the chapter's and nesterov."""
    return request.param


@pytest.fixture(params=BOOK_RULES, ids=lambda rule: rule.name)
def book_rule(request):
    """Each of the chapter's rules in turn."""
    return request.param
