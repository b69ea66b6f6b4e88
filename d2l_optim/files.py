"""Writing files so that a failure never leaves half a file behind, and never loses a user's file.

Every write goes to a hidden part file ``.NAME.d2l-optim-<pid>-<random>.part`` beside its
target and is renamed into place only when complete; an exception, Ctrl-C, SIGTERM or
SIGHUP (see :mod:`d2l_optim.interrupts`) removes the part file. A SIGKILL cannot be caught,
so the first write into a folder removes the part files there whose writing process is
gone (:func:`remove_stale_parts`): only names of that layout, which no user file has.

Within a command's output folder (:func:`output_folder`, from
:mod:`d2l_optim.output_folders`: locked, with a manifest of what we wrote there) a file is
replaced only if the manifest proves we wrote it and it is unchanged since, and every file
written is listed in the manifest. The output-folder API is importable from here too.

A target that is not a regular file is never replaced: a character device or a FIFO is
written through (the finished text is copied into it), a socket or a block device is
refused, and a symlink is followed (its target is written atomically beside the target).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping

from .output_folders import (MANIFEST, FolderBusyError, NotOursError, changed, folder_of,  # noqa: F401
                             hold, manifest, output_folder, owned, remove_owned, sha1_of,
                             update_manifest)


#: every file this process finished writing, in order (the interrupt message counts them)
finished: list[Path] = []
_swept: set[Path] = set()
_PART = re.compile(r'^\.(?P<target>.+)\.d2l-optim-(?P<pid>\d+)-(?P<rand>[a-z0-9_]{8})\.part$')


#: the errors of a full disk, a full quota and a file-size limit
FULL_ERRNOS = tuple(getattr(errno, n) for n in ('ENOSPC', 'EDQUOT', 'EFBIG') if hasattr(errno, n))


class TargetError(OSError):
    """A target that cannot be written as a file: a socket, a block device, a dangling link."""


def record_finished(paths: Iterable[str | os.PathLike]) -> None:
    """Count files another process finished (a ``reproduce`` worker) as this one's, once each."""
    for p in map(Path, paths):
        if p not in finished:
            finished.append(p)


def target_of(path: str | os.PathLike) -> str:
    """The file a part file is written for; any other path as is (for error messages)."""
    p = Path(path)
    m = _PART.match(p.name)
    return str(p.with_name(m['target'])) if m else str(path)


# ------------------------------------------------------------------ stale part files

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):     # someone else's live process; not a pid
        return True
    return True


def remove_stale_parts(folder: str | os.PathLike) -> list[Path]:
    """Delete the part files in ``folder`` left by killed writers; return them.

    Only our own layout counts (``.NAME.d2l-optim-<pid>-<random>.part``): a part file whose
    writer still runs (another command writing here now) is left alone, and so is every
    other file, ``lecture.72345.mp4.part`` included (and the ``NAME.<pid>.<random>.part``
    files of earlier versions, which a user's file can look like).
    """
    removed: list[Path] = []
    folder = Path(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _PART.match(name)
        if m is None or int(m['pid']) == os.getpid() or _alive(int(m['pid'])):
            continue
        with contextlib.suppress(OSError):
            (folder / name).unlink()
            removed.append(folder / name)
    return removed


def _sweep_once(folder: Path) -> None:
    key = Path(os.path.realpath(folder))
    if key not in _swept:
        _swept.add(key)
        remove_stale_parts(folder)


# ------------------------------------------------------------------ targets and writing

def check_target(path: str | os.PathLike) -> tuple[Path, bool]:
    """Where a write of ``path`` goes and whether it is written through, not replaced.

    A symlink is followed; a character device or FIFO is written through; a folder, a socket,
    a block device or a link to nothing raises an ``OSError`` naming the path and the fix."""
    p = Path(path)
    try:
        st = os.lstat(p)
    except (FileNotFoundError, NotADirectoryError):     # a new file (or a path the writer names)
        return p, False
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            raise TargetError(errno.ENOENT, f'is a symbolic link to {os.readlink(p)}, which does not '
                              f'exist; name the file itself', str(p)) from None
        if stat.S_ISREG(st.st_mode):
            return Path(os.path.realpath(p)), False
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return p, False
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return p, True
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, 'is a folder; name a file in it', str(p))
    kind = 'a socket' if stat.S_ISSOCK(mode) else 'a block device (a disk)' if stat.S_ISBLK(mode) \
        else 'not a regular file'
    raise TargetError(errno.EINVAL, f'is {kind}, which d2l-optim does not write; name a file', str(p))


def check_replaceable(path: str | os.PathLike) -> None:
    """Raise :class:`NotOursError` if writing ``path`` (a name a command chose in an output
    folder) would replace a file the manifest does not prove we wrote: call it before the work."""
    path, through = check_target(path)
    if not through and folder_of(path) is not None and path.exists() and not owned(path):
        raise NotOursError(errno.EEXIST, 'is not a file d2l-optim wrote (or it changed since), so it '
                           'is kept; move it away or choose another folder', str(path))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = 'w', *, user_named: bool = False) -> Iterator[IO]:
    """Yield a temporary file for ``path``; put it in place only if the block succeeds.

    ``user_named``: the user named this very path (``--json FILE``), so an existing file
    there is replaced even in an output folder; otherwise only a file we wrote is."""
    path, through = check_target(path)
    if through:
        with _write_through(path, mode) as f:
            yield f
        finished.append(path)
        return
    root = folder_of(path)
    if root is not None:
        hold(root)
        if not user_named:
            check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name[:180]}.d2l-optim-{os.getpid()}-', suffix='.part',
                               dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp's 0600 is not what a user expects
        if root is not None:                 # listed before the rename: an interrupt between the two
            update_manifest(root, add=[(Path(os.path.realpath(path.parent)) / path.name, Path(tmp))])
        os.replace(tmp, path)
        finished.append(path)
    except OSError as e:
        if e.filename is None and e.errno in FULL_ERRNOS:        # a write says no path: name it
            raise OSError(e.errno, f'{e.strerror}; nothing was written there: free some space or '
                          f'choose another folder', str(path)) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_together(contents: Mapping[str | os.PathLike, str | bytes], *, user_named: bool = False) -> list[Path]:
    """Write several files all or none (a report's ``.md`` and ``.html``): every part file is
    written and flushed to disk first, and only then are they renamed into place, so a full
    disk or an interrupt leaves the earlier files (or none), never one new file without the other."""
    with contextlib.ExitStack() as stack:
        for path, data in contents.items():
            f = stack.enter_context(atomic_write(path, 'wb' if isinstance(data, bytes) else 'w',
                                                 user_named=user_named))
            f.write(data)
            f.flush()               # a full disk fails here (or in fsync), before any rename
            try:
                os.fsync(f.fileno())
            except OSError as e:
                if e.errno in FULL_ERRNOS or e.errno == errno.EIO:
                    raise
    return [Path(p) for p in contents]


@contextlib.contextmanager
def _write_through(path: Path, mode: str) -> Iterator[IO]:
    """The finished text, copied into a device or FIFO (nothing if the block fails)."""
    with tempfile.TemporaryFile('w+b' if 'b' in mode else 'w+') as buf:
        yield buf
        buf.flush()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:      # ENXIO: a FIFO nobody reads yet
                raise
            print(f'd2l-optim: waiting for a process to read the FIFO {path}', file=sys.stderr, flush=True)
            fd = os.open(path, os.O_WRONLY)
        os.set_blocking(fd, True)
        with open(fd, 'wb') as out:
            os.lseek(buf.fileno(), 0, os.SEEK_SET)
            while chunk := os.read(buf.fileno(), 1 << 20):
                out.write(chunk)
