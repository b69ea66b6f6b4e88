"""The process a submission runs in under ``lab grade`` (``python -m d2l_optim.lab_worker``).

It runs the cells the judge sends, in an IPython shell (magics work, as in a
kernel), and then calls the learner's functions on the arguments the judge sends,
answering with numbers (:mod:`d2l_optim.lab_wire`). It decides nothing: the
reference rule, the tolerance and the verdict live in the judge's process.

The messages travel on the process's stdin and stdout as it started; the learner's
code gets ``/dev/null`` for both and the log file for stderr, so its prints cannot
interleave with the answers. A cell or a call runs at most ``timeout`` seconds: a
timer raises :class:`CellTimeout` (a ``BaseException``, so ``except Exception``
does not swallow it); the judge kills the process if even that does not stop it.
"""
from __future__ import annotations

import inspect
import os
import signal
import sys
from typing import Any

from .lab_wire import WireError, decode, encode, parse, send


class CellTimeout(BaseException):
    """The cell or call ran past the judge's timeout."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CellTimeout("ran past the timeout")


def _error(e: BaseException | None) -> str | None:
    if e is None:
        return None
    text = ' '.join(str(e).split())[:300]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class Worker:
    def __init__(self, inbox, outbox):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        class Shell(InteractiveShell):
            def enable_gui(self, gui=None):       # %matplotlib inline: no event loop to start
                pass

        config = Config()
        config.HistoryManager.enabled = False
        self.shell = Shell.instance(config=config)
        self.inbox, self.outbox = inbox, outbox

    def receive(self) -> dict:
        line = self.inbox.readline()
        if not line:
            raise EOFError
        return parse(line)

    def lookup(self, name: str) -> Any:
        head, *rest = name.split('.')
        if not head.isidentifier() or not all(part.isidentifier() for part in rest):
            raise NameError(f"{name!r} is not a name")
        if head not in self.shell.user_ns:
            raise NameError(f"name '{head}' is not defined")
        value = self.shell.user_ns[head]
        for part in rest:
            value = getattr(value, part)
        return value

    def timed(self, seconds: float, fn, *args):
        signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 0.001))
        try:
            return fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def run_cell(self, message: dict) -> None:
        try:
            result = self.timed(message.get('timeout', 60), self.shell.run_cell,
                                str(message.get('source', '')))
            error = result.error_before_exec or result.error_in_exec
        except CellTimeout as e:       # raised between IPython's handlers
            error = e
        send(self.outbox, {'op': 'done', 'index': message.get('index'), 'error': _error(error)})

    def describe(self, message: dict) -> None:
        try:
            fn = self.lookup(str(message.get('name', '')))
        except Exception as e:
            send(self.outbox, {'op': 'described', 'found': False, 'error': _error(e)})
            return
        reply: dict = {'op': 'described', 'found': True, 'callable': callable(fn),
                       'fn_name': str(getattr(fn, '__name__', type(fn).__name__)),
                       'what': type(fn).__name__}
        try:
            reply['params'] = [[p.name, p.kind.name, p.default is not p.empty]
                               for p in inspect.signature(fn).parameters.values()]
        except (TypeError, ValueError):
            reply['params'] = None
        own = getattr(fn, 'hyperparams', None)
        reply['hyperparams'] = encode(dict(own)) if isinstance(own, dict) else None
        found = getattr(fn, '__globals__', {})
        reply['globals'] = encode({k: v for k, v in found.items() if type(v) in (int, float)})
        send(self.outbox, reply)

    def callback(self, k: int):
        def call_judge(*args):
            send(self.outbox, {'op': 'callback', 'id': k, 'args': encode(list(args))})
            answer = self.receive()
            if answer.get('op') != 'result':
                raise RuntimeError(str(answer.get('error', 'the judge could not compute it')))
            return decode(answer.get('value'))
        return call_judge

    def call(self, message: dict) -> None:
        try:
            fn = self.lookup(str(message.get('name', '')))
            args = decode(message.get('args', []), self.callback)
            result = self.timed(message.get('timeout', 60), fn, *args)
            send(self.outbox, {'op': 'returned', 'result': encode(result), 'args': encode(args)})
        except WireError:
            raise
        except BaseException as e:      # the learner's exception, a timeout, sys.exit()
            if isinstance(e, (KeyboardInterrupt,)) and not isinstance(e, CellTimeout):
                raise
            send(self.outbox, {'op': 'raised', 'type': type(e).__name__,
                               'text': ' '.join(str(e).split())[:300]})

    def serve(self) -> None:
        handlers = {'cell': self.run_cell, 'describe': self.describe, 'call': self.call}
        while True:
            message = self.receive()
            if message.get('op') == 'bye':
                return
            handlers[str(message.get('op'))](message)


def main() -> None:
    from .sandbox import die_with_parent
    die_with_parent()           # unsandboxed too: the worker never outlives the grader
    inbox = os.fdopen(os.dup(0), 'rb')
    outbox = os.fdopen(os.dup(1), 'wb')
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    signal.signal(signal.SIGALRM, _on_alarm)
    try:
        worker = Worker(inbox, outbox)
        send(outbox, {'op': 'ready', 'pid': os.getpid()})
        worker.serve()
    except (EOFError, BrokenPipeError, WireError, KeyError):
        pass
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
