"""What :func:`d2l_optim.check` returns and leaves behind: the :class:`CheckResult` record,
its texts shared by every form, and the grader's trace.

For graders every call leaves a machine-readable trace, in two places:

* displayed in a notebook, the result's output carries a JSON MIME bundle
  (:data:`MIME_TYPE`, the fields of :meth:`CheckResult.to_json`) beside its text;
* when the environment variable :data:`TRACE_ENV` (``D2L_OPTIM_CHECK_LOG``) names a
  file, each result is appended to it as one JSON line, whether or not it is
  displayed (assigned, printed, called inside a loop). ``d2l-optim lab grade`` sets
  it for each kernel and gives a cell the lines that appeared while it ran.
"""
from __future__ import annotations

import json
import math
import os
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..files import atomic_write
from ..i18n import N_, gettext as _
from ..mistakes import Finding, Variant, message
from ..rules import Rule

#: the environment variable naming the JSON-lines file each check result is appended to
TRACE_ENV = 'D2L_OPTIM_CHECK_LOG'
#: the MIME type of the result's JSON in a notebook's outputs
MIME_TYPE = 'application/vnd.d2l-optim.check+json'


@dataclass
class CheckResult:
    """What :func:`check` found. Truthy when ``fn`` agrees with the reference rule.

    ``first_bad_step`` counts from 1 over the seeded steps and then on over the
    airfoil minibatches (``steps + k`` is minibatch ``k``); ``mistake`` is a code
    of :data:`d2l_optim.mistakes.CODES` or None.
    """

    passed: bool
    first_bad_step: int | None
    max_abs_error: float
    max_rel_error: float
    mistake: str | None
    message: str
    rule: str = ''
    backend: str = ''
    form: str = ''
    fn: str = ''
    steps: int = 0

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.message)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {'text/plain': self.message, MIME_TYPE: self.to_json()}

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ('max_abs_error', 'max_rel_error'):
            d[k] = d[k] if math.isfinite(d[k]) else None
        return d


# ---------------------------------------------------------------- texts

#: (translated where used: ``_(AFTER_STOP)``)
AFTER_STOP = N_("Fix that in your function (call it once by hand to see the full error), then check again.")


def title(base: dict) -> str:
    """How a message names the learner's function: "Your my_rmsprop"."""
    return _("Your {fn}").format(fn=base['fn'])


def failed(text: str, **base: Any) -> CheckResult:
    """A result that did not pass, with no steps compared (``fn`` could not be run)."""
    return CheckResult(False, None, math.nan, math.nan, None, text, **base)


def mismatch(variant: Variant | None, first: int | None, max_abs: float, max_rel: float, rule: Rule,
             base: dict, lr_step: int | None, hp: dict | None = None) -> CheckResult:
    """A result that did not pass: ``variant`` is the known mistake matched, or None."""
    return CheckResult(False, first, max_abs, max_rel, variant.code if variant else None,
                       message_for(variant, rule, first, max_abs, base, lr_step, max_rel, hp), **base)


def message_for(v: Variant | None, rule: Rule, first: int | None, max_abs: float, base: dict,
                lr_step: int | None, max_rel: float = 0.0, hp: dict | None = None) -> str:
    """The text for a known mistake ``v`` (its record's message in :mod:`d2l_optim.mistakes`)
    or, for None, the first step that differs and by how much."""
    who = title(base)
    r = rule.name
    if v is None:
        extra = _(" (hyperparameters used: {hp})").format(hp=hp) if hp else ''
        return _("{who} differs from the reference {r} from step {first} on (largest difference "
                 "{max_abs:.2g}, {max_rel:.2g} relative){extra}.\n"
                 "It matches none of the known mistakes: compare your step {first} with the "
                 "section's formula, line by line.").format(who=who, r=r, first=first, max_abs=max_abs,
                                                           max_rel=max_rel, extra=extra)
    return message(Finding(who, rule, v, base.get('form', ''), first, lr_step))


# ---------------------------------------------------------------- the grader's trace

def _execution_count() -> int | None:
    """The IPython execution count of the running cell, or None outside IPython."""
    ipython = sys.modules.get('IPython')
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, 'get_ipython') else None
    count = getattr(shell, 'execution_count', None)
    return count if isinstance(count, int) else None


def record_trace(result: CheckResult) -> None:
    """Append ``result`` as one JSON line to the file ``$D2L_OPTIM_CHECK_LOG`` names, if set.

    Each line is :meth:`CheckResult.to_json` plus ``execution_count`` (the IPython
    cell that ran the check, None in a script). The file is rewritten atomically.
    """
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    record = {**result.to_json(), 'execution_count': _execution_count()}
    try:
        old = Path(path).read_text() if os.path.exists(path) else ''
        with atomic_write(path) as f:
            f.write(old + json.dumps(record) + '\n')
    except OSError as e:
        warnings.warn(f"check could not write its result to ${TRACE_ENV}={path}: {e}")
