"""Finding, verifying and loading the chapter's data.

Lookup order for a file of ``DATA_HUB``: an explicit path, then the directory in
``$D2L_OPTIM_DATA_DIR``, then the cache, then a download from the book's data
URL into the cache (SHA-1 checked, written atomically). The cache is this
checkout's ``data/`` folder when run from a clone, else ``~/.cache/d2l-optim``.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .files import atomic_write

DATA_URL = 'http://d2l-data.s3-accelerate.amazonaws.com/'
#: name -> (url, sha1), as the book's DATA_HUB
DATA_HUB: dict[str, tuple[str, str]] = {
    'airfoil': (DATA_URL + 'airfoil_self_noise.dat', '76e5be1548fd8222e5074cf0faae75edff8cf93f'),
}
#: Fashion-MNIST's four IDX files (gzip), from MXNet Gluon's mirror, which publishes SHA-1s
FASHION_MNIST_URL = 'https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/gluon/dataset/fashion-mnist/'
DATA_HUB.update({
    'fashion-mnist-train-images': (FASHION_MNIST_URL + 'train-images-idx3-ubyte.gz',
                                   '0cf37b0d40ed5169c6b3aba31069a9770ac9043d'),
    'fashion-mnist-train-labels': (FASHION_MNIST_URL + 'train-labels-idx1-ubyte.gz',
                                   '236021d52f1e40852b06a4c3008d8de8aef1e40b'),
    'fashion-mnist-test-images': (FASHION_MNIST_URL + 't10k-images-idx3-ubyte.gz',
                                  '626ed6a7c06dd17c0eec72fa3be1740f146a2863'),
    'fashion-mnist-test-labels': (FASHION_MNIST_URL + 't10k-labels-idx1-ubyte.gz',
                                  '17f9ab60e7257a1620f4ad76bbbaf857c3920701'),
})
ENV_VAR = 'D2L_OPTIM_DATA_DIR'


class DataError(RuntimeError):
    """A data file that is missing, unreadable or corrupt."""


def default_cache_dir() -> Path:
    """Where downloads go: the clone's ``data/`` folder, else the user cache."""
    checkout = Path(__file__).resolve().parent.parent / 'data'
    if (checkout / 'SHA1SUMS').is_file() and os.access(checkout, os.W_OK):
        return checkout
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'd2l-optim'


def sha1sum(path: str | os.PathLike) -> str:
    h = hashlib.sha1()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def _check(path: Path, sha1: str) -> Path:
    try:
        got = sha1sum(path)
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from e
    if got != sha1:
        raise DataError(f"{path} is corrupt: SHA-1 {got}, expected {sha1}. Delete it and "
                        f"put the right file there (or in ${ENV_VAR}).")
    return path


def download(name: str, cache_dir: str | os.PathLike | None = None,
             path: str | os.PathLike | None = None) -> str:
    """Return the local path of ``DATA_HUB[name]``, downloading it only when no copy is found."""
    if name not in DATA_HUB:
        raise ValueError(f"unknown data set {name!r}; choose one of: {', '.join(DATA_HUB)}")
    url, sha1 = DATA_HUB[name]
    fname = url.rsplit('/', 1)[-1]
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise DataError(f"{p} does not exist (expected {fname}, SHA-1 {sha1})")
        return str(_check(p, sha1))
    places = _places(cache_dir)
    for d in places:
        if (d / fname).exists():
            return str(_check(d / fname, sha1))
    target = places[-1] if cache_dir is None else Path(cache_dir)
    return str(_fetch(url, target / fname, sha1, places))


def _places(cache_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order: ``$D2L_OPTIM_DATA_DIR``, ``cache_dir``, the cache."""
    places = [Path(d) for d in (os.environ.get(ENV_VAR), cache_dir) if d]
    places.append(default_cache_dir())
    return places


def find_local(name: str, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """Where a copy of ``DATA_HUB[name]`` is found without the network (not yet checked), or None."""
    fname = DATA_HUB[name][0].rsplit('/', 1)[-1]
    return next((d / fname for d in _places(cache_dir) if (d / fname).exists()), None)


#: seconds to wait for the server to answer (and for each read); offline fails within this
CONNECT_TIMEOUT = 10
#: downloads larger than this show a progress bar on a terminal
PROGRESS_BYTES = 1 << 20
_failed: dict[str, DataError] | None = None


@contextlib.contextmanager
def one_try_per_file() -> Iterator[None]:
    """Within the block (one CLI command), a download that failed is not tried again:
    the same :class:`DataError` comes back at once, so offline costs one timeout per file."""
    global _failed
    saved, _failed = _failed, {}
    try:
        yield
    finally:
        _failed = saved


def _fetch(url: str, dest: Path, sha1: str, searched: Sequence[Path]) -> Path:
    """Download beside ``dest``, check the SHA-1, then rename into place."""
    if _failed is not None and url in _failed:
        raise DataError(str(_failed[url]))
    where = ', '.join(str(p) for p in searched)
    hint = (f"{dest.name} (SHA-1 {sha1}) was not found in {where} and could not be "
            f"downloaded from {url}")
    try:
        with atomic_write(dest, 'wb') as out:
            h = hashlib.sha1()
            with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT) as r:
                bar = _DownloadBar(dest.name, _length(r))
                while chunk := r.read(1 << 20):
                    out.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
                bar.close()
            if (got := h.hexdigest()) != sha1:
                raise DataError(f"downloaded {dest.name} has SHA-1 {got}, expected {sha1}")
    except (OSError, urllib.error.URLError) as e:
        error = DataError(f"{hint} ({e}). Put the file in ${ENV_VAR} or in {dest.parent}.")
        if _failed is not None:
            _failed[url] = error
        raise error from e
    return dest


def _length(response: Any) -> int | None:
    headers = getattr(response, 'headers', None)
    try:
        return int(headers.get('Content-Length')) if headers is not None else None
    except (TypeError, ValueError):
        return None


class _DownloadBar:
    """``name [#####-----] 12.3/29.5 MB`` redrawn on stderr; silent off a terminal or under 1 MB."""

    def __init__(self, name: str, total: int | None, stream: Any = None, width: int = 24) -> None:
        self.stream = stream or sys.stderr
        self.on = bool(total and total > PROGRESS_BYTES and getattr(self.stream, 'isatty', lambda: False)())
        self.name, self.total, self.done, self.width = name, total or 0, 0, width

    def update(self, n: int) -> None:
        self.done += n
        if self.on:
            filled = int(self.width * min(self.done / self.total, 1))
            self.stream.write(f"\r{self.name} [{'#' * filled}{'-' * (self.width - filled)}] "
                              f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB")
            self.stream.flush()

    def close(self) -> None:
        if self.on:
            self.stream.write('\n')
            self.stream.flush()


def require(*names: str) -> dict[str, str]:
    """Look up (and if need be download) each data set once, before any work: name -> path.

    Commands call this first, so missing or corrupt data stops them with one
    :class:`DataError` before any experiment runs or any figure is written.
    """
    return {name: download(name) for name in names}


def read_airfoil(path: str | os.PathLike | None = None) -> np.ndarray:
    """The 1503 x 6 airfoil table as float32, every column z-scored (population std)."""
    file = download('airfoil', path=path)
    try:
        data = np.genfromtxt(file, dtype=np.float32, delimiter='\t', invalid_raise=True)
    except ValueError as e:
        raise DataError(f"{file} is not a tab-separated table of numbers: {e}") from e
    if data.ndim != 2 or data.shape[1] != 6 or not np.isfinite(data).all():
        raise DataError(f"{file} should hold 6 finite numeric columns, got shape {data.shape}")
    return (data - data.mean(axis=0)) / data.std(axis=0)


class ArrayLoader:
    """Minibatches over in-memory NumPy arrays, reshuffled on every pass.

    The order comes from ``rng`` (a NumPy Generator), so a seeded generator gives
    the same batches on every backend; ``convert`` turns a NumPy batch into the
    backend's array. ``arrays`` keeps the whole data set for one-call evaluation.
    """

    def __init__(self, arrays: Sequence[np.ndarray], batch_size: int, shuffle: bool = True,
                 convert: Callable[[np.ndarray], Any] = lambda a: a,
                 rng: np.random.Generator | None = None) -> None:
        n = len(arrays[0])
        if not isinstance(batch_size, (int, np.integer)) or not 0 < batch_size <= n:
            raise ValueError(f"batch_size must be an integer in [1, {n}], got {batch_size!r}")
        self.arrays, self.batch_size, self.shuffle = tuple(arrays), int(batch_size), shuffle
        self.convert = convert
        self.rng = rng if rng is not None else np.random.default_rng()
        self._full = None

    def __len__(self) -> int:
        return -(-len(self.arrays[0]) // self.batch_size)

    def __iter__(self) -> Iterator[tuple]:
        arrays = self.arrays
        if self.shuffle:
            order = self.rng.permutation(len(arrays[0]))
            arrays = tuple(a[order] for a in arrays)
        b = self.batch_size
        for i in range(0, len(arrays[0]), b):
            yield tuple(self.convert(a[i:i + b]) for a in arrays)

    def full(self) -> tuple:
        """The whole data set as backend arrays (converted once)."""
        if self._full is None:
            self._full = tuple(self.convert(a) for a in self.arrays)
        return self._full


def get_data_ch11(batch_size: int = 10, n: int = 1500, convert: Callable = lambda a: a,
                  path: str | os.PathLike | None = None,
                  rng: np.random.Generator | None = None) -> tuple[ArrayLoader, int]:
    """The airfoil data as ``(data_iter, feature_dim)``: first n rows, 5 features, 1 label."""
    data = read_airfoil(path)
    if not isinstance(n, (int, np.integer)) or not 0 < n <= len(data):
        raise ValueError(f"n must be an integer in [1, {len(data)}], got {n!r}")
    X, y = np.ascontiguousarray(data[:n, :-1]), np.ascontiguousarray(data[:n, -1])
    return ArrayLoader((X, y), batch_size, True, convert, rng), X.shape[1]
