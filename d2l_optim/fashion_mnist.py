"""Fashion-MNIST: the four IDX files (gzip), found like every data file here, and minibatches.

The files are looked up as :func:`d2l_optim.data.download` does: an explicit folder,
then ``$D2L_OPTIM_DATA_DIR``, then the cache, then a download whose SHA-1 is
checked. Images stay ``uint8`` in memory (47 MB for the 60,000 training images)
and become float32 in [0, 1], shape (n, 1, H, W), one minibatch at a time, resized
if asked; each backend then turns a batch into its own tensors (channels last
for TensorFlow). :func:`synthetic_fashion_mnist` makes a small stand-in with the
same shapes for offline demos and tests; it is never mistaken for the real data.
:func:`fashion_mnist_or_stand_in` is the notebooks' loader: the real files when they are
here or can be downloaded, else the stand-in, with one line saying which.
"""
from __future__ import annotations

import gzip
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import data
from .data import ArrayLoader, DataError

__all__ = ['FILES', 'TEXT_LABELS', 'read_idx', 'read_fashion_mnist', 'fashion_mnist_available',
           'fashion_mnist_or_stand_in',
           'get_fashion_mnist_labels', 'resize_images', 'to_float_images', 'image_loader',
           'load_data_fashion_mnist', 'synthetic_fashion_mnist']

#: DATA_HUB name of each file: (train images, train labels, test images, test labels)
FILES = ('fashion-mnist-train-images', 'fashion-mnist-train-labels',
         'fashion-mnist-test-images', 'fashion-mnist-test-labels')
TEXT_LABELS = ('t-shirt', 'trouser', 'pullover', 'dress', 'coat',
               'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot')

# IDX type byte -> big-endian NumPy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_TYPES = {0x08: '>u1', 0x09: '>i1', 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4', 0x0E: '>f8'}


def _fname(name: str) -> str:
    return data.DATA_HUB[name][0].rsplit('/', 1)[-1]


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array in a gzip-compressed IDX file: magic ``00 00 type ndim``, big-endian uint32 sizes, data."""
    try:
        with gzip.open(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read {path} as a gzip file: {e}") from e
    if len(raw) < 4 or raw[:2] != b'\0\0' or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file (magic bytes {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: an IDX header with {ndim} dimensions is truncated or empty")
    shape = struct.unpack(f'>{ndim}I', raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise DataError(f"{path}: the header says shape {shape} ({int(np.prod(shape)) * dtype.itemsize} "
                        f"bytes of {dtype.name}) but {len(body)} bytes follow")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder('='))


def _locate(name: str, root: str | os.PathLike | None) -> str:
    if root is not None:
        return data.download(name, path=Path(root) / _fname(name))
    return data.download(name)


def read_fashion_mnist(root: str | os.PathLike | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train images, train labels, test images, test labels)``: uint8 (n, 28, 28) and int64 (n,).

    ``root`` is a folder holding the four ``*-ubyte.gz`` files; without it the
    files are looked up (and if need be downloaded) as every data file is.
    """
    try:
        paths = [_locate(name, root) for name in FILES]
    except DataError as e:
        missing = ', '.join(_fname(n) for n in FILES)
        raise DataError(f"Fashion-MNIST is not available: {e}\nIt takes four files ({missing}); put "
                        f"them in ${data.ENV_VAR}, or pass their folder as path=. Offline, "
                        f"synthetic_fashion_mnist() gives a labelled stand-in.") from e
    arrays = [read_idx(p) for p in paths]
    for (images, labels), split in (((arrays[0], arrays[1]), 'train'), ((arrays[2], arrays[3]), 'test')):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"Fashion-MNIST {split} files disagree: images {images.shape}, labels "
                            f"{labels.shape}; expected (n, 28, 28) and (n,)")
        if labels.size and not (0 <= labels.min() and labels.max() <= 9):
            raise DataError(f"Fashion-MNIST {split} labels must be 0-9, found {labels.min()}..{labels.max()}")
    return (arrays[0].astype(np.uint8), arrays[1].astype(np.int64),
            arrays[2].astype(np.uint8), arrays[3].astype(np.int64))


def fashion_mnist_available(root: str | os.PathLike | None = None) -> bool:
    """Whether all four files are here (no network used, checksums not yet verified)."""
    if root is not None:
        return all((Path(root) / _fname(n)).exists() for n in FILES)
    return all(data.find_local(n) is not None for n in FILES)


def _why(error: DataError) -> str:
    """The first failure behind ``error`` in a few words: ``[Errno 111] Connection refused``,
    ``downloaded ... has SHA-1 ..., expected ...``, ``... is corrupt: ...``."""
    while isinstance(error.__cause__, DataError):
        error = error.__cause__
    text = str(error).splitlines()[0]
    failed = re.search(r'could not be downloaded from \S+ \((.+)\)\. ', text)
    return failed.group(1) if failed else text.split('. ')[0].rstrip('.')


def fashion_mnist_or_stand_in(n_train: int | None = None, n_test: int | None = None, *,
                              stand_in: tuple[int, int] = (512, 256), seed: int = 0, download: bool = True,
                              log: Callable[[str], None] = print) -> tuple[tuple[np.ndarray, ...], bool]:
    """``(arrays, real)``: Fashion-MNIST's four arrays when its files are here or (``download``)
    can be downloaded (SHA-1 checked, as every data file), keeping the first ``n_train`` training
    and ``n_test`` test images if given; else :func:`synthetic_fashion_mnist` with ``stand_in``
    = (training, test) sizes. One line, passed to ``log``, says which data it is and, for the
    stand-in, why."""
    try:
        if not (download or fashion_mnist_available()):
            raise DataError(f'its four files are not in ${data.ENV_VAR} or the cache')
        X, y, Xt, yt = read_fashion_mnist()
    except DataError as e:
        arrays = synthetic_fashion_mnist(*stand_in, seed=seed)
        log(f'Fashion-MNIST is not available ({_why(e)}): the synthetic stand-in, {stand_in[0]} training '
            f'and {stand_in[1]} test images, whose numbers say nothing about Fashion-MNIST')
        return arrays, False
    if n_train is None and n_test is None:
        log(f'Fashion-MNIST: {len(y)} training and {len(yt)} test images')
        return (X, y, Xt, yt), True
    X, y = X[:n_train], y[:n_train]
    Xt, yt = Xt[:n_test], yt[:n_test]
    log(f'Fashion-MNIST: the first {len(y)} training and {len(yt)} test images')
    return (X, y, Xt, yt), True


def get_fashion_mnist_labels(labels: Sequence) -> list[str]:
    """The text label of each numeric label, as the book's ``get_fashion_mnist_labels``."""
    from .ops import to_numpy
    return [TEXT_LABELS[int(i)] for i in np.ravel(to_numpy(labels))]


def _bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of 1-D bilinear interpolation with half-pixel centres, no antialiasing."""
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = (src - lo).astype(np.float32)
    m = np.zeros((n_out, n_in), np.float32)
    np.add.at(m, (np.arange(n_out), lo), 1 - w)
    np.add.at(m, (np.arange(n_out), hi), w)
    return m


def resize_images(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (n, H, W) images to (n, h, w) (PyTorch's ``align_corners=False``)."""
    h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if not all(isinstance(s, (int, np.integer)) and s > 0 for s in (h, w)):
        raise ValueError(f"resize must be a positive int or (height, width), got {size!r}")
    rows, cols = _bilinear_matrix(images.shape[1], h), _bilinear_matrix(images.shape[2], w)
    return np.einsum('ih,nhw,jw->nij', rows, images.astype(np.float32), cols, optimize=True)


def to_float_images(images: np.ndarray, resize: Any = None) -> np.ndarray:
    """uint8 (n, H, W) -> float32 (n, 1, H', W') in [0, 1], resized if ``resize`` is given."""
    x = images.astype(np.float32) / 255
    if resize is not None:
        x = resize_images(x, resize)
    return x[:, None, :, :]


def image_loader(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool,
                 to_images: Callable[[np.ndarray], Any], to_labels: Callable[[np.ndarray], Any],
                 resize: Any = None, rng: np.random.Generator | None = None) -> ArrayLoader:
    """Minibatches ``(X, y)`` reshuffled on every pass; each batch is made float (and resized) only
    when it is drawn, then handed to the backend's ``to_images``/``to_labels``."""
    if resize is not None:
        resize_images(images[:1], resize)          # a bad size fails now, not mid-epoch

    def convert(a: np.ndarray) -> Any:
        return to_labels(a) if a.ndim == 1 else to_images(to_float_images(a, resize))
    return ArrayLoader((images, labels), batch_size, shuffle, convert, rng)


def load_data_fashion_mnist(batch_size: int, resize: Any = None, *,
                            to_images: Callable[[np.ndarray], Any] = lambda a: a,
                            to_labels: Callable[[np.ndarray], Any] = lambda a: a,
                            path: str | os.PathLike | None = None,
                            arrays: Sequence[np.ndarray] | None = None,
                            rng: np.random.Generator | None = None) -> tuple[ArrayLoader, ArrayLoader]:
    """The book's ``load_data_fashion_mnist``: ``(train_iter, test_iter)``, training batches shuffled.

    ``arrays`` (four arrays as :func:`read_fashion_mnist` returns) replaces the
    files, e.g. with :func:`synthetic_fashion_mnist`. Backends bind ``to_images``
    and ``to_labels`` to make their own tensors.
    """
    X_train, y_train, X_test, y_test = read_fashion_mnist(path) if arrays is None else arrays
    rng = rng if rng is not None else np.random.default_rng()
    return (image_loader(X_train, y_train, batch_size, True, to_images, to_labels, resize, rng),
            image_loader(X_test, y_test, min(batch_size, len(y_test)), False, to_images, to_labels,
                         resize, rng))


def _smooth(a: np.ndarray, passes: int) -> np.ndarray:
    """A cheap blur: repeated 3x3 box averaging over the last two axes (edges wrap)."""
    for _ in range(passes):
        a = sum(np.roll(np.roll(a, i, -2), j, -1) for i in (-1, 0, 1) for j in (-1, 0, 1)) / 9
    return a


def synthetic_fashion_mnist(n_train: int = 1024, n_test: int = 512, seed: int = 0, noise: float = 0.35,
                            label_noise: float = 0.1) -> tuple[np.ndarray, ...]:
    """A stand-in for Fashion-MNIST with its shapes and dtypes, for offline runs and tests.

    Each of 10 classes is a smooth random 28 x 28 pattern; an example is its class
    pattern shifted by up to 3 pixels, at a random contrast, plus pixel noise
    (``noise``, in units of the pattern's range), with a fraction ``label_noise``
    of training labels replaced at random, so that a network can overfit, as on the
    real data. It says nothing about accuracy on Fashion-MNIST itself.
    """
    for name, n in (('n_train', n_train), ('n_test', n_test)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    protos = _smooth(rng.normal(size=(10, 28, 28)), 3)
    protos = (protos - protos.min(axis=(1, 2), keepdims=True)) / np.ptp(protos, axis=(1, 2), keepdims=True)
    protos = np.clip((protos - 0.4) / 0.6, 0, 1)     # a dark background, like the real images

    def draw(n: int, flip: float) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, n)
        shifts = rng.integers(-3, 4, size=(n, 2))
        x = np.stack([np.roll(protos[c], tuple(s), (0, 1)) for c, s in zip(y, shifts)])
        x = x * rng.uniform(0.6, 1.0, (n, 1, 1)) + noise * rng.normal(size=x.shape)
        images = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
        flipped = rng.random(n) < flip
        y = np.where(flipped, rng.integers(0, 10, n), y)
        return images, y.astype(np.int64)

    X_train, y_train = draw(n_train, label_noise)
    X_test, y_test = draw(n_test, 0.0)
    return X_train, y_train, X_test, y_test
