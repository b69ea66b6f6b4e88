"""Ctrl-C, SIGTERM and SIGHUP for every command: one line, exit code 130, nothing half-written.

:func:`signals_as_interrupt` turns SIGTERM, SIGHUP (the terminal closed) and SIGINT into
``KeyboardInterrupt``,
so the ``finally`` of :func:`d2l_optim.files.atomic_write` removes the part file
being written; a second signal during that cleanup is ignored. The CLI catches the
interrupt and prints :func:`interrupted_message`, which says what the command keeps: a
command may describe that itself (:func:`describe_kept`, e.g. the rows of a grades table).
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from . import files

#: the exit code of a command stopped by a signal, as a shell reports Ctrl-C
EXIT_INTERRUPTED = 130
FIGURE_SUFFIXES = ('.png', '.svg', '.pdf')


#: the signals a command stops on (SIGHUP: its terminal was closed)
SIGNALS = tuple(getattr(signal, name) for name in ('SIGINT', 'SIGTERM', 'SIGHUP') if hasattr(signal, name))
#: what the running command says it keeps if interrupted (set by :func:`describe_kept`)
kept_description: Callable[[], str] | None = None

#: seconds after a first signal during which another one is ignored (the cleanup runs)
GRACE_SECONDS = 2.0


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise ``KeyboardInterrupt``.

    A second signal within :data:`GRACE_SECONDS` of the first is ignored, so that a
    double Ctrl-C cannot cut the cleanup short; a later one raises again (should some
    library have swallowed the first, the user can still stop the command).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hit: list[float] = []

    def handler(signum, frame):
        now = time.monotonic()
        if hit and now - hit[-1] < GRACE_SECONDS:
            return
        hit.append(now)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def describe_kept(describe: Callable[[], str]) -> Iterator[None]:
    """Within the block, an interrupt message says ``interrupted; <describe()>``: what the
    command keeps (e.g. ``out/grades.csv holds 12 graded rows``), computed when it stops."""
    global kept_description
    saved, kept_description = kept_description, describe
    try:
        yield
    finally:
        kept_description = saved


def interrupted_message(out: str | None = None, command: str | None = None) -> str:
    """What the interrupted command keeps: its own words (:func:`describe_kept`), a report's
    ``interrupted; DIR holds N finished figures and no report``, or the files it finished."""
    if kept_description is not None:
        try:
            return f'interrupted; {kept_description()}'
        except Exception:           # a description must never hide the interrupt
            pass
    done = list(dict.fromkeys(files.finished))      # a file rewritten (grades.csv) counts once
    if out is None:
        if not done:
            return 'interrupted; no file was written'
        return f"interrupted; kept {len(done)} finished file{'s' * (len(done) != 1)}: " \
               + ', '.join(str(p) for p in done)
    folder = Path(out).resolve()
    mine = [p for p in done if p.resolve().is_relative_to(folder)]
    if command in (None, 'reproduce'):
        figures = [p for p in mine if p.suffix in FIGURE_SUFFIXES]
        report = 'its report' if any(p.stem == 'report' for p in mine) else 'no report'
        return f"interrupted; {out} holds {len(figures)} finished figure{'s' * (len(figures) != 1)} and {report}"
    others = [str(p) for p in done if p not in mine]
    if not mine and not others:
        return f'interrupted; nothing was written to {out}'
    kept = [f"{out} keeps {len(mine)} finished file{'s' * (len(mine) != 1)} "
            f"({', '.join(str(p.resolve().relative_to(folder)) for p in mine[:5])}"
            f"{', ...' if len(mine) > 5 else ''})"] if mine else []
    return f"interrupted; {', '.join(kept + others)}; nothing half-written"
