"""The argument checks of the airfoil training functions: one clear error naming the bad
value and the fix, raised before any work (``train_ch11`` and ``train_concise_ch11`` call
:func:`check_train_args` and :func:`check_concise_args` first).
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from .data import ArrayLoader
from .hyperparams import validate_hyperparams
from .rules import Rule


def check_train_args(trainer_fn: Callable, states: Any, hyperparams: dict, data_iter: Any,
                     feature_dim: Any, num_epochs: Any) -> int:
    """Check ``train_ch11``'s arguments in the order a learner would fix them; return
    ``feature_dim`` as an int. The optimizer's rule (``trainer_fn.rule``, where the library
    made it) tells how its states must be laid out."""
    rule = getattr(trainer_fn, 'rule', None)
    check_num_epochs(num_epochs)
    validate_hyperparams(hyperparams, rule)
    feature_dim = check_feature_dim(feature_dim, data_iter)
    check_states(rule, states, feature_dim)
    return feature_dim


def check_concise_args(hyperparams: dict, data_iter: Any, num_epochs: Any,
                       feature_dim: Any) -> int:
    """Check ``train_concise_ch11``'s arguments; return the number of features (read from
    the data when ``feature_dim`` is None)."""
    check_num_epochs(num_epochs)
    validate_hyperparams(hyperparams)
    if feature_dim is not None:
        return check_feature_dim(feature_dim, data_iter)
    found = data_features(data_iter)
    if found is None:
        raise ValueError('data_iter yields X that is not 2-D (examples x features); '
                         'pass feature_dim= or reshape X')
    return found


def checked_pairs(data_iter: Any) -> Iterator[tuple]:
    """The batches of ``data_iter``, each checked to be an (X, y) pair."""
    try:
        it = iter(data_iter)
    except TypeError:
        raise TypeError(f"data_iter must be an iterable of (X, y) minibatches, got a "
                        f"{type(data_iter).__name__}; use get_data_ch11 or load_array") from None
    for batch in it:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            what = f'a {type(batch).__name__}' + (f' of length {len(batch)}'
                                                   if isinstance(batch, (tuple, list)) else '')
            raise TypeError(f"data_iter must yield (X, y) pairs, but it yielded {what}; "
                            f"build it with load_array((features, labels), batch_size)")
        yield batch[0], batch[1]


def check_num_epochs(num_epochs: Any) -> None:
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, (int, np.integer)):
        raise TypeError(f"num_epochs must be a whole number of epochs (an int >= 1), got "
                        f"{num_epochs!r} ({type(num_epochs).__name__}); e.g. num_epochs=2")
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}; e.g. num_epochs=2")


def data_features(data_iter: Any) -> int | None:
    """The number of features in ``data_iter``'s X, after checking it yields (X, y) pairs."""
    if isinstance(data_iter, ArrayLoader):
        X = data_iter.arrays[0]
    else:
        try:
            one_pass = iter(data_iter) is data_iter
        except TypeError:
            one_pass = False
        if one_pass:
            raise TypeError(f"data_iter is a one-pass {type(data_iter).__name__}, but every epoch "
                            f"and every evaluation iterates it again; pass a list of (X, y) "
                            f"batches or load_array((features, labels), batch_size)")
        X = next(checked_pairs(data_iter), (None, None))[0]
        if X is None:
            raise ValueError('data_iter yielded no batches')
    shape = tuple(getattr(X, 'shape', ()))
    return int(shape[1]) if len(shape) == 2 else None


def check_feature_dim(feature_dim: Any, data_iter: Any) -> int:
    found = data_features(data_iter)
    if isinstance(feature_dim, bool) or not isinstance(feature_dim, (int, np.integer)):
        raise TypeError(f"feature_dim must be an int, got {feature_dim!r}"
                        + (f"; the data has {found} features" if found else ''))
    if found is not None and feature_dim != found:
        raise ValueError(f"feature_dim={feature_dim} does not match the data, whose X has {found} "
                         f"features; pass feature_dim={found} (get_data_ch11 returns it)")
    return int(feature_dim)


def check_states(rule: Rule | None, states: Any, feature_dim: int) -> None:
    """States laid out as ``init_<rule>_states(feature_dim)`` returns them, or a clear error."""
    if rule is None or rule.n_states == 0:
        return
    init = rule.init_name
    shapes = [(feature_dim, 1), (1,)]
    kind = 'one array' if rule.n_states == 1 else f'a tuple of {rule.n_states} arrays'
    expected = (f"{rule.name} keeps {kind} per parameter, shaped like w {shapes[0]} and b "
                f"{shapes[1]}; call states = {init}(feature_dim)")
    if states is None:
        raise ValueError(f"states is None, but {expected}")
    if not isinstance(states, (list, tuple)) or len(states) != 2:
        got = f'{len(states)} entries' if isinstance(states, (list, tuple)) else type(states).__name__
        raise ValueError(f"states must hold one entry per parameter (w, b), got {got}; {expected}")
    for name, state, shape in zip(('w', 'b'), states, shapes):
        arrays = state if isinstance(state, (tuple, list)) else (state,)
        if rule.n_states > 1 and (not isinstance(state, (tuple, list)) or len(state) != rule.n_states):
            raise ValueError(f"states for {name} must be {kind}, got "
                             f"{len(arrays) if isinstance(state, (tuple, list)) else 1}; {expected}")
        if rule.n_states == 1 and isinstance(state, (tuple, list)):
            raise ValueError(f"states for {name} must be one array, got a {type(state).__name__} "
                             f"of {len(state)}; {expected}")
        for a in arrays:
            got = tuple(getattr(a, 'shape', np.shape(a)))
            if got != shape:
                raise ValueError(f"states for {name} has shape {got}, expected {shape}; {expected}")
