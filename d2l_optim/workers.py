"""Independent units of work in worker processes, a few at a time, stopped cleanly on interrupt.

``reproduce`` runs each backend's experiments as one unit: on a machine with two cores two
backends train at once, each in its own process (frameworks do not share one well, and each
imports only its own). A unit reports through ``emit(message)``; the parent hands every
message to ``on_message`` as it arrives, in the parent's own thread.

Stopping: the parent turns Ctrl-C and SIGTERM into ``KeyboardInterrupt`` (see
:mod:`d2l_optim.interrupts`) and sends SIGTERM to its workers, which raise
``KeyboardInterrupt`` in turn, so :func:`d2l_optim.files.atomic_write` removes the file a
worker was writing. Workers ignore SIGINT itself: a terminal's Ctrl-C reaches the whole
process group, and one orderly path (the parent's SIGTERM) is easier to reason about. A
worker whose parent has died (SIGKILL) stops at its next message.

Why not ``concurrent.futures.ProcessPoolExecutor``: before Python 3.14 it offers no public
way to signal the workers that are running (``shutdown`` only cancels what has not
started), so Ctrl-C or SIGTERM could not stop them promptly with their part files removed;
a worker that dies breaks the whole pool, failing every other unit, where here only its
own unit fails, named with its exit code; and a future delivers its result only when the
unit ends, where a unit here reports rows and finished figures as it goes.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import traceback
from typing import Any, Callable, Sequence

#: seconds a worker gets to clean up after SIGTERM before it is killed
STOP_SECONDS = 10.0


class WorkerFailed(RuntimeError):
    """A worker process died without finishing its unit (a crash, or killed from outside).

    ``failed`` lists ``(task, why)`` for every unit that did not finish, so a caller can keep
    what the others finished and say which did not."""

    def __init__(self, message: str, failed: Sequence[tuple[Any, str]] = ()) -> None:
        super().__init__(message)
        self.failed = list(failed)


def default_jobs(units: int) -> int:
    """One process per core, never more than there are units."""
    return max(1, min(os.cpu_count() or 1, units))


def _raise_interrupt(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)      # a second SIGTERM must not cut cleanup short
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _worker(work: Callable[[Any, Callable[[Any], None]], None], conn: Any, parent: int) -> None:
    """Run the tasks the parent sends over ``conn`` until it sends ``None``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, 'SIGHUP'):       # the terminal closed: the parent stops us with SIGTERM
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)

    def emit(message: Any) -> None:
        if os.getppid() != parent:      # the parent is gone: nobody will read this
            raise KeyboardInterrupt('parent died')
        conn.send(('message', message))

    try:
        while (task := conn.recv()) is not None:
            try:
                work(task, emit)
            except Exception as e:      # a unit reports its own errors; this one is a bug
                conn.send(('failed', f'{type(e).__name__}: {e}\n{traceback.format_exc()}'))
            else:
                conn.send(('done', None))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return
    # all done and every file closed: skip the interpreter's teardown, which takes seconds
    # with TensorFlow or MXNet loaded (the parent would wait for it)
    sys.stdout.flush()
    sys.stderr.flush()
    conn.close()
    os._exit(0)


#: each worker's frameworks on one thread: two workers on two cores, not two thread pools each
ONE_THREAD = {name: '1' for name in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS',
                                     'TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS')}


class _Worker:
    """One process, its end of the pipe, and the task it runs (an index, or None)."""

    def __init__(self, ctx: Any, work: Callable) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(work, child, os.getpid()), daemon=True)
        self.task: int | None = None
        self._child = child

    def start(self) -> None:
        self.proc.start()
        self._child.close()         # the parent keeps one end only, so EOF means the worker is gone

    def give(self, index: int | None, task: Any) -> None:
        self.task = index
        self.conn.send(task)


def run_units(work: Callable[[Any, Callable[[Any], None]], None], tasks: Sequence[Any],
              on_message: Callable[[Any], None], jobs: int) -> None:
    """Call ``work(task, emit)`` for every task, ``jobs`` at a time, in worker processes.

    ``work`` must be a module-level function (it is imported by name in a fresh process,
    ``spawn``, so no framework state is inherited), with its frameworks on one thread
    (:data:`ONE_THREAD`). Tasks go to whichever worker is free, in the order given.
    ``jobs=1`` runs in this process, in order: the same messages, no processes. Raises
    :class:`WorkerFailed` naming every unit that raised or whose worker died, after the
    others finished; on ``KeyboardInterrupt`` (or any exception here) every worker is
    stopped (and its part file removed) before the exception propagates.
    """
    from multiprocessing.connection import wait
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            work(task, on_message)
        return
    ctx = multiprocessing.get_context('spawn')
    workers = [_Worker(ctx, work) for _ in range(min(jobs, len(tasks)))]
    saved = {k: os.environ.get(k) for k in ONE_THREAD}
    os.environ.update(ONE_THREAD)           # read by each framework when the worker imports it
    try:
        for w in workers:
            w.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    todo, failures, failed = list(enumerate(tasks)), [], []

    def next_task(w: _Worker) -> None:
        w.give(*(todo.pop(0) if todo else (None, None)))

    try:
        for w in workers:
            next_task(w)
        live = list(workers)
        while live:
            for conn in wait([w.conn for w in live]):
                w = next(x for x in live if x.conn is conn)
                try:
                    kind, payload = conn.recv()
                except (EOFError, ConnectionResetError):    # the process is gone
                    w.proc.join()
                    if w.task is not None:
                        code = w.proc.exitcode
                        why = (f'its worker was killed by {signal.Signals(-code).name} (out of memory?)'
                               if code is not None and code < 0 and -code in signal.valid_signals()
                               else f'its worker exited with code {code}')
                        failures.append(f'the worker for {tasks[w.task]!r} exited with code {code}')
                        failed.append((tasks[w.task], why))
                    live.remove(w)
                    continue
                if kind == 'message':
                    on_message(payload)
                    continue
                if kind == 'failed':
                    failures.append(f'{tasks[w.task]!r} failed: {payload}')
                    failed.append((tasks[w.task], str(payload).strip().splitlines()[-1] if payload else 'failed'))
                next_task(w)
                if w.task is None:
                    live.remove(w)
                    w.proc.join(STOP_SECONDS)
    except BaseException:       # Ctrl-C, SIGTERM, or an error in on_message: no orphans
        _stop(workers, on_message)
        raise
    if todo:                    # every worker died before the list was done
        failures.append(f'{len(todo)} unit(s) never ran: every worker exited')
        failed += [(task, 'never ran: every worker exited') for _, task in todo]
    if failures:
        raise WorkerFailed('; '.join(failures), failed)


def _stop(workers: list, on_message: Callable[[Any], None]) -> None:
    """SIGTERM every worker, read what they still send (finished files), wait, then kill."""
    import time
    for w in workers:
        if w.proc.is_alive():
            w.proc.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    open_conns = [w.conn for w in workers]
    while open_conns and time.monotonic() < deadline:
        try:
            for conn in [c for c in open_conns if c.poll(0.05)]:
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    open_conns.remove(conn)
                    continue
                if kind == 'message':
                    on_message(payload)
            if not any(w.proc.is_alive() for w in workers) and not any(c.poll() for c in open_conns):
                break
        except KeyboardInterrupt:       # a second Ctrl-C: keep cleaning up
            pass
    for w in workers:
        if w.proc.is_alive():
            w.proc.kill()
        w.proc.join(1.0)
