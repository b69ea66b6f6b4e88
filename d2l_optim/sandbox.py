"""Where a submission's process runs under ``lab grade``, and how it is ended.

With bubblewrap (``bwrap``, Linux) the process gets a fresh root holding only
``/usr`` (and the ``/bin``, ``/lib`` links), a few files of ``/etc``, the Python
environment and the d2l_optim package read-only, the data folder read-only and its
own working copy read-write; ``--unshare-all`` leaves it no network (loopback only)
and its own process namespace: when the worker ends, bwrap's init ends and the
kernel kills every process left in the namespace, detached ones included
(``--die-with-parent`` does the same if the grader dies). It cannot see the other
submissions, ``--out`` or the user's home.

Without bwrap the process runs as the user, in a session of its own, with a
scrubbed environment; the grader makes itself the child subreaper (Linux), so a
detached process is re-parented to the grader and killed when the submission's
grading ends. :data:`UNSANDBOXED` says once what a submission could then reach.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
from pathlib import Path

UNSANDBOXED = ("lab grade: {why}: submissions run unsandboxed, as your user, "
               "so one can read or change any file you can (the other submissions, --out) and use "
               "the network; grades are still decided outside its process (install it: "
               "apt-get install bubblewrap)")
#: the files of /etc a Python process needs (the dynamic loader's cache, time zone, users)
ETC = ('ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'localtime', 'passwd', 'group', 'nsswitch.conf',
       'hosts')
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 1, 36, 37


def bwrap() -> str | None:
    """The bubblewrap executable, or None (not installed, not Linux)."""
    return shutil.which('bwrap') if sys.platform.startswith('linux') else None


def python_roots() -> list[Path]:
    """The folders the worker's Python needs: the environment, the base interpreter and d2l_optim."""
    import importlib.util

    import d2l_optim
    places = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              str(Path(os.path.realpath(sys.executable)).parent.parent),
              str(Path(d2l_optim.__file__).parent)}
    spec = importlib.util.find_spec('d2l_optim.backends')
    places.update(spec.submodule_search_locations or [] if spec else [])
    real = sorted({Path(os.path.realpath(p)) for p in places if p and os.path.isdir(p)})
    return [p for p in real if not any(q != p and q in p.parents for q in real)]


def bwrap_command(argv: list[str], workdir: Path, readonly: list[Path],
                  hide: list[Path]) -> list[str]:
    """``argv`` under bwrap: ``workdir`` read-write, ``readonly`` and the Python roots read-only,
    and each path of ``hide`` that falls inside a bound folder covered by an empty one."""
    cmd = [bwrap() or 'bwrap', '--unshare-all', '--die-with-parent', '--new-session',
           '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--ro-bind', '/usr', '/usr']
    for top in ('/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'):
        if os.path.islink(top):
            cmd += ['--symlink', os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ['--ro-bind', top, top]
    for name in ETC:
        cmd += ['--ro-bind-try', f'/etc/{name}', f'/etc/{name}']
    bound = python_roots() + [Path(os.path.realpath(p)) for p in readonly]
    for root in bound:
        cmd += ['--ro-bind', str(root), str(root)]
    work = Path(os.path.realpath(workdir))
    cmd += ['--bind', str(work), str(work)]
    for path in hide:
        path = Path(os.path.realpath(path))
        if any(root == path or root in path.parents for root in bound):
            cmd += ['--tmpfs', str(path)] if path.is_dir() else ['--ro-bind', '/dev/null', str(path)]
    return cmd + ['--chdir', str(work), '--'] + argv


def scrubbed_env(home: Path, data_dir: Path | None) -> dict[str, str]:
    """The worker's whole environment: nothing of the grader's (no tokens, no log paths)."""
    env = {'PATH': os.pathsep.join([str(Path(sys.executable).parent), '/usr/bin', '/bin']),
           'HOME': str(home), 'TMPDIR': str(home), 'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8',
           'MPLBACKEND': 'Agg', 'MPLCONFIGDIR': str(home / '.matplotlib'),
           'IPYTHONDIR': str(home / '.ipython'), 'PYTHONNOUSERSITE': '1',
           'PYTHONDONTWRITEBYTECODE': '1', 'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1',
           'MKL_NUM_THREADS': '1', 'TF_CPP_MIN_LOG_LEVEL': '3'}
    if data_dir is not None:
        env['D2L_OPTIM_DATA_DIR'] = str(data_dir)
    return env


def seed_matplotlib_cache(home: Path) -> None:
    """Copy the grader's matplotlib font list into the worker's config folder (saves ~1 s each)."""
    try:
        import matplotlib
        cache = Path(matplotlib.get_cachedir())
    except Exception:
        return
    target = home / '.matplotlib'
    target.mkdir(parents=True, exist_ok=True)
    for f in cache.glob('fontlist-*.json'):
        shutil.copyfile(f, target / f.name)


# ---------------------------------------------------------------- ending every process

def _prctl(option: int, value: int = 0) -> int | None:
    if not sys.platform.startswith('linux'):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if option == PR_GET_CHILD_SUBREAPER:
            out = ctypes.c_int(0)
            return out.value if libc.prctl(option, ctypes.byref(out), 0, 0, 0) == 0 else None
        return libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        return None


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent (the grader) dies (Linux)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Reaper:
    """While open, this process is the child subreaper: orphans of a submission come back to it.

    :meth:`sweep` kills and reaps every child that was not there when the reaper
    opened and is not one of ``keep`` (the workers still being graded).
    """

    def __enter__(self) -> 'Reaper':
        self.before = set(children())
        self.was = _prctl(PR_GET_CHILD_SUBREAPER)
        if self.was is not None:
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
        return self

    def sweep(self, keep: set[int]) -> list[int]:
        killed = []
        for pid in children():
            if pid in self.before or pid in keep:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                killed.append(pid)
            except (ProcessLookupError, ChildProcessError, PermissionError):
                continue
        return killed

    def __exit__(self, *exc) -> None:
        if self.was is not None:
            _prctl(PR_SET_CHILD_SUBREAPER, self.was)


def children(pid: int | None = None) -> list[int]:
    """The pids whose parent is ``pid`` (this process by default), from /proc (Linux)."""
    pid = os.getpid() if pid is None else pid
    out = []
    try:
        entries = os.listdir('/proc')
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat', 'rb') as f:
                fields = f.read().rsplit(b')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
