"""Ctrl-C and SIGTERM for every command: one line, exit code 130, nothing half-written.

:func:`signals_as_interrupt` turns SIGTERM (and SIGINT) into ``KeyboardInterrupt``,
so the ``finally`` of :func:`d2l_optim.files.atomic_write` removes the part file
being written; a second signal during that cleanup is ignored. The CLI catches the
interrupt and prints :func:`interrupted_message`.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path
from typing import Iterator

from . import files

#: the exit code of a command stopped by a signal, as a shell reports Ctrl-C
EXIT_INTERRUPTED = 130
FIGURE_SUFFIXES = ('.png', '.svg', '.pdf')


#: seconds after a first signal during which another one is ignored (the cleanup runs)
GRACE_SECONDS = 2.0


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise ``KeyboardInterrupt``.

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

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def interrupted_message(out: str | None = None) -> str:
    """``interrupted; DIR holds N finished figures and no report`` (or what else was written)."""
    if out is None:
        done = files.finished
        if not done:
            return 'interrupted; no file was written'
        return f"interrupted; {len(done)} finished file{'s' * (len(done) != 1)}: " \
               + ', '.join(str(p) for p in done)
    folder = Path(out).resolve()
    mine = [p for p in files.finished if p.parent.resolve() == folder]
    figures = [p for p in mine if p.suffix in FIGURE_SUFFIXES]
    report = 'its report' if any(p.stem == 'report' for p in mine) else 'no report'
    return f"interrupted; {out} holds {len(figures)} finished figure{'s' * (len(figures) != 1)} and {report}"
