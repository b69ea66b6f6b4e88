"""Importing a framework without its C++ start-up lines.

TensorFlow 2.21 writes two lines to the process's standard error (file descriptor 2)
while it is imported, whatever ``TF_CPP_MIN_LOG_LEVEL`` says::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... port.cc:153] oneDNN custom operations are on. You may see slightly different ...

They come from C++, below Python's ``sys.stderr``, so only redirecting descriptor 2
itself keeps them out of a notebook, a script or the command line. :func:`quiet_import`
does that around the import alone: everything written meanwhile goes to a temporary
file; if the import fails, all of it is shown (a real error is never hidden); if it
succeeds, everything but the known start-up notices is shown. Nothing about the
framework changes (its numerics included: oneDNN stays on).
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from types import ModuleType
from typing import Iterator, Sequence

__all__ = ['TENSORFLOW_NOTICES', 'stderr_captured', 'quiet_import']

#: substrings of TensorFlow's start-up notices (absl's pre-init warning, the oneDNN notice and,
#: at TF_CPP_MIN_LOG_LEVEL 0, the two-line CPU-feature notice)
TENSORFLOW_NOTICES = ('All log messages before absl::InitializeLog() is called',
                      'oneDNN custom operations are on',
                      'cpu_feature_guard', 'To enable the following instructions:')


def _flush_stderr() -> None:
    with contextlib.suppress(Exception):
        sys.stderr.flush()


@contextlib.contextmanager
def stderr_captured(notices: Sequence[str] = ()) -> Iterator[None]:
    """Send file descriptor 2 to a temporary file while the block runs, then show what was
    written: all of it if the block raised, else the lines containing none of ``notices``."""
    _flush_stderr()
    try:
        saved = os.dup(2)
    except OSError:             # no descriptor 2 (a detached process): nothing to capture
        yield
        return
    failed = True
    with tempfile.TemporaryFile() as tmp:
        try:
            os.dup2(tmp.fileno(), 2)
            yield
            failed = False
        finally:
            _flush_stderr()     # Python's own writes to descriptor 2 belong to the capture
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines = tmp.read().decode('utf-8', 'replace').splitlines(keepends=True)
            if not failed:
                lines = [line for line in lines if not any(n in line for n in notices)]
            if lines:
                sys.stderr.write(''.join(lines))
                _flush_stderr()


def quiet_import(name: str, notices: Sequence[str] = TENSORFLOW_NOTICES) -> ModuleType:
    """``importlib.import_module(name)`` without the start-up ``notices`` on standard error
    (unless ``TF_CPP_MIN_LOG_LEVEL`` is 0: whoever asked for every log line gets them)."""
    if os.environ.get('TF_CPP_MIN_LOG_LEVEL', '').strip() == '0':
        notices = ()
    with stderr_captured(notices):
        return importlib.import_module(name)
