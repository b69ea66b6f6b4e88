"""Finding, verifying and loading the chapter's data.

Lookup order for a file of ``DATA_HUB``: an explicit path, then the directory in
``$D2L_OPTIM_DATA_DIR``, then the cache, then a download from the book's data
URL into the cache. A file found is only SHA-1 checked, never downloaded again or
replaced. The download is pooch's (the library scipy and scikit-image fetch their
data with): into a temporary file beside the target, SHA-1 checked, then renamed
into place, with a progress bar on a terminal. The cache is this checkout's
``data/`` folder when run from a clone, else ``~/.cache/d2l-optim``.
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .files import sha1_of

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


def _check(path: Path, sha1: str) -> Path:
    try:
        got = sha1_of(path)
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


def show_progress(stream: Any = None) -> bool:
    """Whether a download shows pooch's progress bar: on a terminal, where tqdm is installed."""
    stream = stream or sys.stderr
    return bool(getattr(stream, 'isatty', lambda: False)()) and importlib.util.find_spec('tqdm') is not None


def _fetch(url: str, dest: Path, sha1: str, searched: Sequence[Path]) -> Path:
    """Download ``url`` to ``dest`` with pooch (SHA-1 checked before it is renamed into place)."""
    if _failed is not None and url in _failed:
        raise DataError(str(_failed[url]))
    import pooch  # lazy: pooch, tqdm and requests load only when a file must be downloaded
    fix = f"Put the file in ${ENV_VAR} or in {dest.parent}."
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)        # no "Downloading ..." line: the bar shows progress
    try:
        pooch.retrieve(url, known_hash=f'sha1:{sha1}', fname=dest.name, path=dest.parent,
                       downloader=pooch.HTTPDownloader(timeout=CONNECT_TIMEOUT, progressbar=show_progress()))
    except (OSError, ValueError) as e:      # requests' errors are OSErrors; a wrong hash, ValueError
        got = re.search(r'hash .* got ([0-9a-f]{40})', str(e))
        where = ', '.join(str(p) for p in searched)
        error = DataError(f"downloaded {dest.name} has SHA-1 {got.group(1)}, expected {sha1}, and was "
                          f"not kept. {fix}" if got else
                          f"{dest.name} (SHA-1 {sha1}) was not found in {where} and could not be "
                          f"downloaded from {url} ({_reason(e)}). {fix}")
    else:
        return dest
    finally:
        logger.setLevel(level)
    if _failed is not None:
        _failed[url] = error
    raise error


def _reason(e: Exception) -> str:
    """A failed download's cause in a few words: ``[Errno 111] Connection refused``,
    ``404 Client Error: Not Found ...``, ``Read timed out.``"""
    text = str(e)
    errno = re.search(r'\[Errno -?\d+\][^\'")]*', text)
    return errno.group(0).strip() if errno else text.splitlines()[0] if text else type(e).__name__


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


def check_finite(arrays: Sequence[np.ndarray]) -> None:
    """Raise :class:`DataError` naming the first NaN or inf in ``arrays`` (features, labels, ...):
    one pass of ``np.isfinite`` over each floating array, when a loader is made, not per batch."""
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if not np.issubdtype(a.dtype, np.inexact):
            continue                        # integers (e.g. image bytes, class labels) are always finite
        bad = ~np.isfinite(a)
        if not bad.any():
            continue
        where = np.unravel_index(int(np.argmax(bad)), a.shape)
        what = ('the features (arrays[0])', 'the labels (arrays[1])')[i] if i < 2 else f'arrays[{i}]'
        at = f"row {where[0]}" + (f", column {', '.join(map(str, where[1:]))}" if len(where) > 1 else '')
        raise DataError(f"{what} hold {a[where]} at {at} ({int(bad.sum())} non-finite value(s) in all): "
                        f"a data problem, not the learning rate; drop or fill those rows before loading "
                        f"(e.g. keep = np.isfinite(X).all(axis=1) & np.isfinite(y))")


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
        check_finite(arrays)
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

