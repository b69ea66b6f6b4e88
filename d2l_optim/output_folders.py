"""Output folders: what a command may replace or remove there, and one command at a time.

A command's output folder (:func:`output_folder`) is locked with ``filelock`` while the
command runs, so two commands never interleave there (the lock file lives in the temporary
folder, none in the user's), and it holds a small manifest (:data:`MANIFEST`) of every file
written into it, with its SHA-1, size and mtime. A file there is replaced or removed only if
the manifest proves we wrote it and it is unchanged since (:func:`owned`,
:func:`remove_owned`); anything else is the user's and stays, byte for byte.
:mod:`d2l_optim.files` writes through these rules.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

#: the manifest of the files written into an output folder, at the folder's top
MANIFEST = '.d2l-optim-manifest.json'
#: the output folders of this command, inherited by its worker processes (os.pathsep-separated)
OUTPUT_ENV = 'D2L_OPTIM_OUTPUT_FOLDERS'
#: seconds a command waits for another one writing into the same folder (unset: no limit)
LOCK_TIMEOUT_ENV = 'D2L_OPTIM_LOCK_TIMEOUT'
MANIFEST_FORMAT = 'd2l-optim manifest 1'


class NotOursError(FileExistsError):
    """A file in an output folder that d2l-optim did not write (or that changed since)."""


class FolderBusyError(TimeoutError):
    """Another command holds the output folder longer than ``$D2L_OPTIM_LOCK_TIMEOUT``."""


def sha1_of(path: str | os.PathLike) -> str:
    """The SHA-1 of a file's bytes, as hex (read in 1 MiB pieces)."""
    h = hashlib.sha1()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ output folders and locks

def _key(folder: str | os.PathLike) -> Path:
    return Path(os.path.realpath(folder))


def active_folders() -> list[Path]:
    """The output folders of this command (and of the command that started this worker)."""
    return [Path(p) for p in os.environ.get(OUTPUT_ENV, '').split(os.pathsep) if p]


def folder_of(path: str | os.PathLike) -> Path | None:
    """The innermost active output folder of this command holding ``path``, or None."""
    path = Path(path)
    real = _key(path.parent) / path.name
    roots = [r for r in active_folders() if real.is_relative_to(r)]
    return max(roots, key=lambda r: len(r.parts)) if roots else None


def _lock_file(folder: Path, what: str):
    """A ``filelock`` lock for ``folder``, kept in the temporary folder (none in the user's)."""
    from filelock import FileLock
    base = Path(tempfile.gettempdir()) / 'd2l-optim-locks'
    for where in (base, base.with_name(f'{base.name}-{os.getuid() if hasattr(os, "getuid") else 0}')):
        with contextlib.suppress(OSError):
            where.mkdir(exist_ok=True)
            if where.stat().st_uid == os.geteuid():
                where.chmod(0o1777)
        if where.is_dir() and os.access(where, os.W_OK | os.X_OK):
            break
    file = str(where / f"{hashlib.sha1(str(folder).encode()).hexdigest()[:20]}.{what}.lock")
    try:
        return FileLock(file, mode=0o666)          # shared by every user of the folder
    except TypeError:                              # filelock < 3.10 has no mode
        return FileLock(file)


#: folder -> [lock, depth, locked yet, command]: the output folders this process opened
_held: dict[Path, list] = {}


@contextlib.contextmanager
def output_folder(folder: str | os.PathLike, command: str = 'd2l-optim') -> Iterator[Path]:
    """Within the block, ``folder`` is this command's: locked against other d2l-optim commands
    (the lock file lives in the temporary folder, not in ``folder``), files written there
    listed in its manifest, and a file there replaced only if the manifest proves we wrote
    it. Re-entrant; worker processes started within the block write under the same rules
    (the folder is passed to them in ``$D2L_OPTIM_OUTPUT_FOLDERS``) without locking again."""
    key = _key(folder)
    if key in _held:
        _held[key][1] += 1
    elif key in active_folders():       # a worker of the command that holds the lock
        _held[key] = [None, 1, True, command]
    else:
        _held[key] = [_lock_file(key, 'folder'), 1, False, command]
    saved = os.environ.get(OUTPUT_ENV)
    if key not in active_folders():
        os.environ[OUTPUT_ENV] = os.pathsep.join(map(str, [*active_folders(), key]))
    try:
        hold(folder)
        yield key
    finally:
        if saved is None:
            os.environ.pop(OUTPUT_ENV, None)
        else:
            os.environ[OUTPUT_ENV] = saved
        entry = _held[key]
        entry[1] -= 1
        if entry[1] == 0:
            del _held[key]
            if entry[0] is not None and entry[2]:
                entry[0].release(force=True)


def hold(folder: str | os.PathLike) -> None:
    """Take the lock of an output folder this process opened, if not taken yet.

    Waits for another command writing there, saying so once on stderr; after
    ``$D2L_OPTIM_LOCK_TIMEOUT`` seconds (if set) raises :class:`FolderBusyError`."""
    key = _key(folder)
    entry = _held.get(key)
    if entry is None or entry[2]:
        return                          # not ours to lock (a worker's), or locked already
    from filelock import Timeout
    lock = entry[0]
    try:
        lock.acquire(timeout=0)
    except Timeout:
        limit = os.environ.get(LOCK_TIMEOUT_ENV)
        print(f'{entry[3]}: waiting for another d2l-optim command that writes into {folder} to finish'
              + (f' (at most {limit} s)' if limit else ' (Ctrl-C to stop)'), file=sys.stderr, flush=True)
        try:
            lock.acquire(timeout=float(limit) if limit else -1)
        except Timeout:
            raise FolderBusyError(errno.EBUSY, f'another d2l-optim command is still writing here after '
                                  f'{limit} s; wait for it to finish or choose another folder',
                                  str(folder)) from None
    entry[2] = True


# ------------------------------------------------------------------ the manifest

def manifest(folder: str | os.PathLike) -> dict[str, dict]:
    """The files we wrote in output folder ``folder``: relative path -> sha1, size, mtime_ns.

    A missing, unreadable or foreign manifest reads as empty (then nothing there is ours)."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text('utf-8'))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get('format') != MANIFEST_FORMAT \
            or not isinstance(data.get('files'), dict):
        return {}
    return data['files']


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _write_manifest(folder: Path, entries: dict[str, dict]) -> None:
    text = json.dumps({'format': MANIFEST_FORMAT, 'files': dict(sorted(entries.items()))}, indent=1)
    fd, tmp = tempfile.mkstemp(prefix=f'{MANIFEST}.d2l-optim-{os.getpid()}-', suffix='.part', dir=folder)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text + '\n')
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, folder / MANIFEST)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def update_manifest(root: Path, add: Iterable[Path | tuple[Path, Path]] = (), drop: Iterable[Path] = ()) -> None:
    """List the files ``add`` in output folder ``root``'s manifest, drop ``drop``.

    An item of ``add`` may be ``(target, part)``: the part file about to be renamed to
    ``target`` (listed first, so that an interrupt between the two never leaves a file of
    ours unlisted); the content it replaces stays ours too (``was``) until the next write."""
    with _lock_file(root, 'manifest'):
        entries = manifest(root)
        for p in drop:
            entries.pop(p.relative_to(root).as_posix(), None)
        for item in add:
            target, source = item if isinstance(item, tuple) else (item, item)
            rel = target.relative_to(root).as_posix()
            st = os.stat(source)
            entry = {'sha1': sha1_of(source), 'size': st.st_size, 'mtime_ns': st.st_mtime_ns}
            if rel in entries and entries[rel].get('sha1') != entry['sha1']:
                entry['was'] = entries[rel].get('sha1')
            entries[rel] = entry
        _write_manifest(root, entries)


def listing(path: str | os.PathLike) -> tuple[Path, dict] | None:
    """``(folder, entry)``: the nearest folder above ``path`` whose manifest lists it, or None."""
    path = Path(path)
    real = _key(path.parent) / path.name
    for folder in real.parents:
        if (folder / MANIFEST).is_file():
            found = manifest(folder).get(real.relative_to(folder).as_posix())
            if found:
                return folder, found
    return None


def owned(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file (not a link) we wrote, unchanged since (SHA-1 and size)."""
    p = Path(path)
    try:
        st = os.lstat(p)
    except OSError:
        return False
    found = listing(p) if stat.S_ISREG(st.st_mode) else None
    if not found or (found[1].get('size') != st.st_size and 'was' not in found[1]):
        return False
    try:
        return sha1_of(p) in (found[1].get('sha1'), found[1].get('was'))
    except OSError:
        return False


def changed(folder: str | os.PathLike) -> list[Path]:
    """The files the manifest of ``folder`` lists that were edited, replaced or removed since."""
    root = Path(folder)
    return [root / rel for rel in manifest(root) if not owned(root / rel)]


def remove_owned(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[Path]]:
    """Delete those of ``paths`` we wrote and nobody changed since; ``(removed, kept)``."""
    removed, kept = [], []
    for p in map(Path, paths):
        root = folder_of(p)
        if root is not None:
            hold(root)              # decide and delete under the folder's lock
        found = listing(p)
        if found is None or not owned(p):
            kept.append(p)
            continue
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
        removed.append(p)
        update_manifest(found[0], drop=[_key(p.parent) / p.name])
    return removed, kept
