"""The checks every hyperparameter dict passes before a rule runs on it.

:func:`validate_hyperparams` rejects a missing, mistyped, non-finite or out-of-range value
with one line that names the key, the value and the fix; :func:`unknown_keys` finds the keys
a rule does not read, each with the nearest valid one (``gama`` -> ``gamma``). Training
(``train_ch11``, the optimizers, sweeps) warns about those keys; :func:`d2l_optim.check`,
where a mistyped key would silently make the check meaningless, refuses them.
"""
from __future__ import annotations

import difflib
import math
import warnings
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:       # the rules module is imported for its type only: no import circle
    from .rules import Rule

#: every hyperparameter name a rule reads (``eps`` is optional; ``t`` is the step count)
KNOWN_HYPERPARAMS = ('lr', 'momentum', 'gamma', 'rho', 'beta1', 'beta2', 'eps', 't')
#: the keys whose values lie in [0, 1)
UNIT_INTERVAL = ('momentum', 'gamma', 'rho', 'beta1', 'beta2')
#: a value of each key as the book's airfoil runs use it, for the fix a message suggests
EXAMPLES = {'lr': 0.01, 'momentum': 0.9, 'gamma': 0.9, 'rho': 0.9, 'beta1': 0.9, 'beta2': 0.999,
            'eps': 1e-6}
#: names a learner may write for a key, from the book's own cells (the 2-D cells' ``eta``)
OTHER_NAMES = {'eta': 'lr', 'learning_rate': 'lr', 'beta': 'momentum', 'alpha': 'gamma',
               'epsilon': 'eps'}


def validate_hyperparams(hyperparams: Mapping[str, Any], rule: Rule | None = None,
                         unknown: str = 'warn') -> None:
    """Reject missing, mistyped, non-finite or out-of-range hyperparameters before any work.

    With a ``rule``, a key it does not read names the nearest valid key (``gama`` ->
    ``gamma``): a ``UserWarning`` with ``unknown='warn'`` (training), a ``ValueError`` with
    ``unknown='error'`` (:func:`d2l_optim.check`); without a rule (a framework's own
    optimizer, which takes its own keywords) only the book's names are checked.
    """
    if not isinstance(hyperparams, Mapping):
        raise TypeError(f"hyperparams must be a dict such as {{'lr': 0.01}}, got "
                        f"{type(hyperparams).__name__} {hyperparams!r}")
    if rule is not None:
        for key, hint in unknown_keys(hyperparams, rule):
            text = f"hyperparams key {key!r} is not used by {rule.name}; {hint}"
            if unknown == 'error':
                raise ValueError(text)
            warnings.warn(text, UserWarning, stacklevel=3)
        missing = [k for k in rule.required if k not in hyperparams]
        if missing:
            raise ValueError(f"{rule.name} needs hyperparameter(s) {missing}; "
                             f"the book uses {dict(rule.defaults)}")
    for key, value in hyperparams.items():
        if key in KNOWN_HYPERPARAMS:
            check_value(key, value, rule)


def check_value(key: str, value: Any, rule: Rule | None = None) -> None:
    """One hyperparameter's value: a number (an int >= 1 for ``t``), finite, in its range."""
    if key == 't':
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"t counts steps from 1, got {value!r}")
        return
    if isinstance(value, (str, bytes, bool)) or value is None:
        example = f'{key}={float(value)!r}' if isinstance(value, str) and _is_number(value) \
            else f'{key}=0.01'
        raise TypeError(f"hyperparams[{key!r}] must be a number, got {value!r} "
                        f"({type(value).__name__}); e.g. {example}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"hyperparams[{key!r}] must be a number, got {value!r} "
                        f"({type(value).__name__})") from None
    if not math.isfinite(number):
        raise ValueError(f"{key} must be a finite number, got {value!r}; e.g. "
                         f"{key}={example_value(key, rule)!r}, a value the book uses")
    if key in ('lr', 'eps') and not number > 0:
        raise ValueError(f"{key} must be > 0, got {value!r}")
    if key in UNIT_INTERVAL and not 0 <= number < 1:
        raise ValueError(f"{key} must be in [0, 1), got {value!r}")


def example_value(key: str, rule: Rule | None = None) -> float:
    """The book's value of ``key`` for ``rule`` (or for the chapter's airfoil runs)."""
    if rule is not None and key in rule.defaults:
        return rule.defaults[key]
    if rule is not None and key == 'eps' and rule.eps is not None:
        return rule.eps
    return EXAMPLES.get(key, 0.01)


def unknown_keys(hyperparams: Mapping[str, Any], rule: Rule) -> list[tuple[str, str]]:
    """The keys of ``hyperparams`` that ``rule`` does not read, each with a hint: the
    nearest key it reads (``did you mean 'gamma'?``) or the list of those it reads."""
    reads = [*rule.defaults, 'eps'] + (['t'] if rule.uses_t else [])   # eps: accepted by every rule
    out = []
    for key in hyperparams:
        if key in reads or key == 't':
            continue
        other = OTHER_NAMES.get(str(key))
        close = [other] if other in reads else difflib.get_close_matches(str(key), reads, n=1, cutoff=0.6)
        out.append((key, f"did you mean {close[0]!r}?" if close else f"it reads: {', '.join(reads)}"))
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
