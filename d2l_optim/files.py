"""Writing files so that a failure never leaves half a file behind.

Every write goes to ``NAME.<pid>.<random>.part`` beside its target and is renamed
into place only when complete; an exception, Ctrl-C or SIGTERM (see
:mod:`d2l_optim.interrupts`) removes the part file. A SIGKILL cannot be caught,
so the first write into a folder also removes the part files there whose
writing process is gone (:func:`remove_stale_parts`).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator

#: every file this process finished writing, in order (the interrupt message counts them)
finished: list[Path] = []
_swept: set[Path] = set()


def record_finished(paths: Iterable[str | os.PathLike]) -> None:
    """Count files another process finished (a ``reproduce`` worker) as this one's, once each."""
    for p in map(Path, paths):
        if p not in finished:
            finished.append(p)


def _pid_of(part: Path) -> int | None:
    """The writer's pid from ``NAME.<pid>.<random>.part``, or None for another layout."""
    fields = part.name[:-len('.part')].split('.')
    return int(fields[-2]) if len(fields) >= 3 and fields[-2].isdigit() else None


def target_of(path: str | os.PathLike) -> str:
    """The file a part file ``NAME.<pid>.<random>.part`` is written for; any other path as is."""
    part = Path(path)
    if part.name.endswith('.part') and _pid_of(part) is not None:
        return str(part.with_name(part.name[:-len('.part')].rsplit('.', 2)[0]))
    return str(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # someone else's live process
        return True
    return True


def remove_stale_parts(folder: str | os.PathLike) -> list[Path]:
    """Delete the ``*.part`` files in ``folder`` left by killed writers; return them.

    Only our own layout counts (a pid in the name): a part file whose writer is
    still running (another command writing into the same folder right now) is left
    alone, and so is any ``*.part`` file of another program's or the user's.
    """
    removed = []
    folder = Path(folder)
    try:
        parts = list(folder.glob('*.part'))
    except OSError:
        return removed
    for part in parts:
        pid = _pid_of(part)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        with contextlib.suppress(OSError):
            part.unlink()
            removed.append(part)
    return removed


def _sweep_once(folder: Path) -> None:
    key = folder.resolve()
    if key not in _swept:
        _swept.add(key)
        remove_stale_parts(folder)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = 'w') -> Iterator[IO]:
    """Yield a temporary file beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f'{path.name}.{os.getpid()}.', suffix='.part', dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp's 0600 is not what a user expects
        os.replace(tmp, path)
        finished.append(path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
