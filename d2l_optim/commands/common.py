"""Options and outputs the subcommands share: hyperparameter flags, JSON runs, figures."""
from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..files import atomic_write, check_target
from ..rules import RULES, get_rule

HYPERPARAM_FLAGS = ('lr', 'gamma', 'rho', 'momentum', 'beta1', 'beta2')


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('optimizer', help=f"one of: {', '.join(RULES)}")
    for name in HYPERPARAM_FLAGS:
        p.add_argument(f'--{name}', type=float, default=None,
                       help=f"{name} (default: the book's value for the optimizer)")
    p.add_argument('--batch-size', type=int, default=10)
    p.add_argument('--epochs', type=positive_int, default=2)
    p.add_argument('--seed', type=seed_int, default=None, help='make the run exactly repeatable')
    p.add_argument('--out', default=None, help='folder for the loss-curve PNG')
    p.add_argument('--json', default=None, help='write the runs as JSON to this path')


def hyperparams_from(args: argparse.Namespace) -> tuple[str, dict]:
    """The rule's name and the book's hyperparameters overridden by the flags given."""
    rule = get_rule(args.optimizer)
    hp = dict(rule.defaults)
    for name in HYPERPARAM_FLAGS:
        value = getattr(args, name)
        if value is not None:
            if name not in rule.defaults:
                raise ValueError(f"--{name} does not apply to {rule.name}; it takes: "
                                 f"{', '.join('--' + k for k in rule.defaults)}")
            hp[name] = value
    if args.epochs <= 0:
        raise ValueError(f'--epochs must be >= 1, got {args.epochs}')
    return rule.name, hp


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (the flag is named in argparse's one-line error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected an integer >= 1, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def seed_int(text: str) -> int:
    """An argparse type for ``--seed``: NumPy seeds are integers >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected an integer >= 0, got {text!r}') from None
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be an integer >= 0 (NumPy seeds are), got {value}; '
                                         f'e.g. --seed 0')
    return value


def names_list(text: str | Sequence[str] | None) -> list[str] | None:
    """``a,b``, ``a b`` and ``"a b"`` (one quoted argument) alike, lower-cased; None if empty."""
    if text is None:
        return None
    items = [text] if isinstance(text, str) else list(text)
    names = [n.lower() for item in items for n in re.split(r'[,\s]+', item) if n]
    return names or None


def check_out_dir(path: str | os.PathLike | None, flag: str = '--out') -> None:
    """Fail before any work if ``path`` cannot be a folder we write into."""
    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f'{flag} {path}: is a file, not a folder; choose a folder (it is created '
                         f'if missing)')
    _check_ancestors(p, flag, path)


def check_out_file(path: str | os.PathLike | None, flag: str = '--json') -> None:
    """Fail before any work if ``path`` cannot be a file we write."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise ValueError(f'{flag} {path}: is a folder; name a file, e.g. {flag} {p / "runs.json"}')
    try:            # a socket, a disk or a link to nothing: refused; a device written through
        p, through = check_target(p)        # a symlink: its target, written beside it
    except OSError as e:
        raise ValueError(f'{flag} {path}: {e.strerror}') from None
    if p.exists() and not os.access(p, os.W_OK):
        raise ValueError(f'{flag} {path}: the file is not writable; choose another path')
    if not through:
        _check_ancestors(p.parent, flag, path)


def _check_ancestors(p: Path, flag: str, path: Any) -> None:
    """The nearest existing ancestor of ``p`` must be a writable folder."""
    q = p if p.exists() else p.parent
    while not q.exists() and q != q.parent:
        q = q.parent
    if p.exists() and p.is_dir():
        q = p
    if not q.is_dir():
        raise ValueError(f'{flag} {path}: {q} is a file, so nothing can be created under it; '
                         f'choose a folder')
    if not _can_create_in(q):
        raise ValueError(f'{flag} {path}: {q} is not writable; choose a folder you can write to')


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be made in ``folder``: permissions, then a real try (root passes
    every permission check, yet cannot write under /proc or on a read-only mount)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def atomic_write_text(path: str | os.PathLike, text: str, *, user_named: bool = True) -> None:
    """Write text through :func:`d2l_optim.files.atomic_write`. By default ``path`` is one the
    user named (``--json FILE``), so an existing file there is replaced; ``user_named=False``
    for a name the command chose, which in an output folder replaces only a file we wrote."""
    with atomic_write(path, user_named=user_named) as f:
        f.write(text)


def check_mplbackend() -> None:
    """An invalid ``$MPLBACKEND`` named before any work (matplotlib would fail on import, or
    only when the first figure is drawn, after the work)."""
    name = os.environ.get('MPLBACKEND')
    if not name:
        return
    import importlib.util
    if name.startswith('module://'):
        module = name[len('module://'):]
        try:
            found = bool(module) and importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return
    else:
        try:                # matplotlib's first import reads (and checks) $MPLBACKEND
            from matplotlib import rcsetup
            rcsetup.validate_backend(name)
            return
        except ValueError:
            pass
    raise ValueError(f'the environment variable MPLBACKEND={name!r} names no matplotlib backend; '
                     f'unset it or set MPLBACKEND=Agg (figures are written to files)')


def write_runs_json(path: str | os.PathLike, runs: Iterable[Any]) -> None:
    atomic_write_text(path, json.dumps([r.to_json() for r in runs], indent=2) + '\n')
