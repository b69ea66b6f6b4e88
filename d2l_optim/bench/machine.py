"""The machine a bench ran on: cores, CPU model, OS, Python and library versions, load."""
from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from typing import Sequence


def _version(*dists: str) -> str | None:
    for d in dists:
        try:
            return metadata.version(d)
        except metadata.PackageNotFoundError:
            continue
    return None


def cpu_model(path: str = '/proc/cpuinfo') -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform reports."""
    try:
        with open(path) as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(backends: Sequence[str] = ()) -> dict:
    """Cores, CPU model, OS, Python and the library versions, without importing frameworks."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    versions = {'d2l-optim': _version('d2l-optim'), 'numpy': _version('numpy'),
                'matplotlib': _version('matplotlib')}
    dists = {'torch': ('torch',), 'tensorflow': ('tensorflow', 'tensorflow-cpu'),
             'mxnet': ('mxnet',), 'jax': ('jax',)}
    for b in backends:
        if b in dists:
            versions[b] = _version(*dists[b])
            if b == 'tensorflow':
                versions['keras'] = _version('keras')
            if b == 'jax':
                versions['jaxlib'], versions['optax'] = _version('jaxlib'), _version('optax')
    return {'cores': cores, 'cpu': cpu_model(), 'os': platform.platform(),
            'python': platform.python_version(), 'versions': versions,
            'load_average': list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
            'date': time.strftime('%Y-%m-%d %H:%M %Z')}
