"""The judge's side of ``lab grade``: a submission's process, and its functions as seen from here.

:class:`SubmissionProcess` starts :mod:`d2l_optim.lab_worker` (sandboxed when
bubblewrap is there, see :mod:`d2l_optim.sandbox`) and exchanges messages with it
under deadlines. :func:`remote_function` makes a stand-in for one of the learner's
functions: same name, same signature, the same numeric globals (a 2-D trainer's
``eta``) and ``hyperparams`` attribute; calling it sends the arguments to the
submission's process, which calls the real function and sends back the result and
the arguments as they are after the call (the book's optimizers write into them),
which the stand-in copies into its own arguments. :func:`d2l_optim.check` then runs
here on the stand-in, so the reference rule, the tolerance and the verdict never
enter the submission's process.
"""
from __future__ import annotations

import builtins
import inspect
import os
import select
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .lab_wire import MAX_MESSAGE, WireError, decode, encode, parse, send
from .sandbox import kill_group


#: the pids of the workers running now; SPAWN is held while one starts (see Reaper.sweep)
LIVE: set[int] = set()
SPAWN = threading.Lock()


class SubmissionGone(BaseException):
    """The submission's process died or stopped answering; ``str`` says which and where."""


class SubmissionProcess:
    """One worker process, and the exchange with it."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path):
        self.log = open(log, 'wb')
        with SPAWN:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.log, env=env, cwd=cwd, start_new_session=True)
            LIVE.add(self.proc.pid)
        self.buffer = b''
        self.alive = True

    def request(self, message: dict, seconds: float, callables: list | None = None) -> dict:
        """Send ``message`` and return the reply, answering the worker's callbacks meanwhile.
        :class:`SubmissionGone` if the process ends or gives no reply within ``seconds``."""
        if not self.alive:
            raise SubmissionGone('it had already stopped')
        try:
            send(self.proc.stdin, message)
        except (BrokenPipeError, OSError):
            self.stop()
            raise SubmissionGone('it died') from None
        deadline = time.monotonic() + seconds
        while True:
            reply = self.receive(deadline)
            if reply.get('op') != 'callback':
                return reply
            self.answer_callback(reply, callables or [], deadline)

    def answer_callback(self, message: dict, callables: list, deadline: float) -> None:
        k = message.get('id')
        try:
            fn = callables[k] if isinstance(k, int) and 0 <= k < len(callables) else None
            if fn is None:
                raise WireError(f"no function {k!r}")
            value = fn(*decode(message.get('args', [])))
            send(self.proc.stdin, {'op': 'result', 'value': encode(value)})
        except (BrokenPipeError, OSError):
            self.stop()
            raise SubmissionGone('it died') from None
        except Exception as e:
            send(self.proc.stdin, {'op': 'failed', 'error': f"{type(e).__name__}: {e}"[:300]})

    def receive(self, deadline: float) -> dict:
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise SubmissionGone('it did not answer in time')
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self.stop()
                raise SubmissionGone('it died')
            self.buffer += chunk
            if len(self.buffer) > MAX_MESSAGE:
                self.stop()
                raise SubmissionGone('it sent a message too long to read')
        line, self.buffer = self.buffer.split(b'\n', 1)
        try:
            return parse(line)
        except WireError as e:
            self.stop()
            raise SubmissionGone(f'it sent something that is not a message ({e})') from None

    def stop(self, grace: float = 0.0) -> None:
        """End the worker and every process in its session (with bwrap: its whole namespace)."""
        if self.alive and grace > 0:
            try:
                send(self.proc.stdin, {'op': 'bye'})
                self.proc.wait(grace)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.alive = False
        kill_group(self.proc.pid)
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        LIVE.discard(self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout, self.log):
            try:
                stream.close()
            except OSError:
                pass


def learner_exception(name: str, text: str) -> Exception:
    """An exception of the learner's class name (a builtin when it is one) carrying ``text``."""
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(text)
        except Exception:
            pass
    safe = name if name.isidentifier() else 'Error'
    return type(safe, (Exception,), {})(text)


def _sync(target: Any, new: Any) -> bool:
    """Copy ``new`` into ``target`` in place; False where that cannot be done."""
    if isinstance(target, np.ndarray) and isinstance(new, np.ndarray):
        if target.shape == new.shape and target.flags.writeable:
            target[...] = new
            return True
        return False
    if isinstance(target, list) and isinstance(new, list):
        for i, value in enumerate(new):
            if i >= len(target):
                target.append(value)
            elif not _sync(target[i], value):
                target[i] = value
        del target[len(new):]
        return True
    if isinstance(target, tuple) and isinstance(new, tuple) and len(target) == len(new):
        return all(_sync(t, n) for t, n in zip(target, new))
    if isinstance(target, dict) and isinstance(new, dict):
        target.clear()
        target.update(new)
        return True
    return False


def remote_function(sub: SubmissionProcess, name: str, info: dict, timeout: float) -> Any:
    """A stand-in, in the judge's process, for the learner's ``name`` described by ``info``."""
    from .lab_wire import Opaque
    if not info.get('callable'):
        return Opaque(f"a {info.get('what', 'value')}")

    def call(*args: Any) -> Any:
        callables: list[Callable] = []
        payload = encode(list(args), callables)
        reply = sub.request({'op': 'call', 'name': name, 'args': payload, 'timeout': timeout},
                            timeout + 5, callables)
        if reply.get('op') == 'raised':
            raise learner_exception(str(reply.get('type', 'Exception')), str(reply.get('text', '')))
        if reply.get('op') != 'returned':
            raise SubmissionGone(f"it answered a call with {str(reply.get('op'))[:40]!r}")
        try:
            after = decode(reply.get('args'))
            result = decode(reply.get('result'))
        except WireError as e:
            raise SubmissionGone(f'it sent numbers that cannot be read ({e})') from None
        if isinstance(after, list) and len(after) == len(args):
            for old, new in zip(args, after):
                _sync(old, new)
        return result

    numbers = {}
    try:
        numbers = {k: v for k, v in decode(info.get('globals') or {'__dict__': []}).items()
                   if type(v) in (int, float)}
    except WireError:
        pass
    scope = {**numbers, '_call': call}
    exec('def stand_in(*args):\n    return _call(*args)\n', scope)    # noqa: S102 (our own text)
    fn = scope['stand_in']
    fn.__name__ = fn.__qualname__ = str(info.get('fn_name') or name)[:80]
    params = info.get('params')
    if isinstance(params, list):
        try:
            fn.__signature__ = inspect.Signature([
                inspect.Parameter(str(p), getattr(inspect.Parameter, str(kind)),
                                  default=None if has_default else inspect.Parameter.empty)
                for p, kind, has_default in params])
        except (TypeError, ValueError, AttributeError):
            pass
    if info.get('hyperparams') is not None:
        try:
            own = decode(info['hyperparams'])
            fn.hyperparams = {k: v for k, v in own.items() if type(v) in (int, float)}
        except (WireError, AttributeError):
            pass
    return fn
