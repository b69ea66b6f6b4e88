"""Fashion-MNIST from IDX gzip files the tests write themselves: lookup, checksums, errors,
batches, resizing, and the synthetic stand-in."""
import gzip
import hashlib
import importlib.util
import struct
import urllib.error

import numpy as np
import pytest

from d2l_optim import data, fashion_mnist
from d2l_optim.data import DataError
from d2l_optim.fashion_mnist import (FILES, get_fashion_mnist_labels, load_data_fashion_mnist, read_fashion_mnist,
                                     read_idx, resize_images, synthetic_fashion_mnist)

NAMES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
         't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']


def write_idx(path, array, type_byte=0x08, dtype='>u1'):
    """An IDX file: 00 00 type ndim, big-endian uint32 sizes, big-endian data, gzip-compressed."""
    header = bytes([0, 0, type_byte, array.ndim]) + struct.pack(f'>{array.ndim}I', *array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + np.asarray(array).astype(dtype).tobytes())
    return path


def sha1(path):
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data directory, an empty cache, no network."""
    monkeypatch.delenv('D2L_OPTIM_DATA_DIR', raising=False)
    monkeypatch.setattr(data, 'default_cache_dir', lambda: tmp_path / 'cache')

    def no_network(*a, **k):
        raise urllib.error.URLError('network is unreachable')
    monkeypatch.setattr(data.urllib.request, 'urlopen', no_network)
    return tmp_path


@pytest.fixture
def idx_dir(offline, monkeypatch):
    """Four small IDX files (20 train, 8 test) with DATA_HUB pointing at their checksums."""
    rng = np.random.default_rng(0)
    folder = offline / 'fmnist'
    folder.mkdir()
    arrays = [rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 10, 20),
              rng.integers(0, 256, (8, 28, 28)), rng.integers(0, 10, 8)]
    for name, fname, a in zip(FILES, NAMES, arrays):
        path = write_idx(folder / fname, a)
        monkeypatch.setitem(data.DATA_HUB, name, (data.DATA_HUB[name][0], sha1(path)))
    return folder, arrays


def test_hub_names_the_standard_files():
    assert [data.DATA_HUB[n][0].rsplit('/', 1)[-1] for n in FILES] == NAMES
    assert all(len(data.DATA_HUB[n][1]) == 40 for n in FILES)


def test_read_idx_round_trips_types(tmp_path):
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    out = read_idx(write_idx(tmp_path / 'a.gz', a, 0x0C, '>i4'))
    assert out.dtype == np.int32 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, a)
    f = np.linspace(-1, 1, 6).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / 'f.gz', f, 0x0E, '>f8')), f)


def test_reads_through_the_data_directory(idx_dir, monkeypatch):
    folder, arrays = idx_dir
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(folder))
    assert fashion_mnist.fashion_mnist_available()
    X, y, Xt, yt = read_fashion_mnist()
    assert X.dtype == np.uint8 and X.shape == (20, 28, 28) and y.dtype == np.int64 and Xt.shape == (8, 28, 28)
    for got, want in zip((X, y, Xt, yt), arrays):
        np.testing.assert_array_equal(got, want)


def test_explicit_folder(idx_dir):
    folder, arrays = idx_dir
    assert not fashion_mnist.fashion_mnist_available()      # not in the data directory or the cache
    assert fashion_mnist.fashion_mnist_available(folder)
    np.testing.assert_array_equal(read_fashion_mnist(folder)[3], arrays[3])


def test_missing_offline_is_a_clear_error(offline):
    with pytest.raises(DataError) as e:
        read_fashion_mnist()
    msg = str(e.value)
    assert 'Fashion-MNIST is not available' in msg and 'train-images-idx3-ubyte.gz' in msg
    assert 't10k-labels-idx1-ubyte.gz' in msg and 'D2L_OPTIM_DATA_DIR' in msg
    assert data.DATA_HUB[FILES[0]][1] in msg and 'network is unreachable' in msg
    assert 'synthetic_fashion_mnist' in msg
    cache = offline / 'cache'
    assert not cache.exists() or not any(cache.iterdir())          # no partial download left behind


def test_wrong_checksum_names_the_file(idx_dir, monkeypatch):
    folder, _ = idx_dir
    monkeypatch.setitem(data.DATA_HUB, FILES[2], (data.DATA_HUB[FILES[2]][0], '0' * 40))
    with pytest.raises(DataError, match=r't10k-images-idx3-ubyte.gz is corrupt: SHA-1 [0-9a-f]{40}, expected 0{40}'):
        read_fashion_mnist(folder)


@pytest.mark.parametrize('content,message', [
    (b'not gzip at all', 'cannot read .* as a gzip file'),
    (gzip.compress(b'\x00\x01\x08\x03', mtime=0), 'is not an IDX file'),
    (gzip.compress(b'\x00\x00\x08\x03\x00\x00', mtime=0), 'header with 3 dimensions is truncated'),
    (gzip.compress(bytes([0, 0, 8, 1]) + struct.pack('>I', 5) + b'abc', mtime=0), r'shape \(5,\) .* but 3 bytes follow'),
])
def test_corrupt_idx(tmp_path, content, message):
    path = tmp_path / 'bad.gz'
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_idx(path)


def test_inconsistent_files(idx_dir, monkeypatch):
    folder, _ = idx_dir
    path = write_idx(folder / NAMES[1], np.full(19, 3))             # 19 labels for 20 images
    monkeypatch.setitem(data.DATA_HUB, FILES[1], (data.DATA_HUB[FILES[1]][0], sha1(path)))
    with pytest.raises(DataError, match=r'train files disagree: images \(20, 28, 28\), labels \(19,\)'):
        read_fashion_mnist(folder)
    path = write_idx(folder / NAMES[1], np.full(20, 11))
    monkeypatch.setitem(data.DATA_HUB, FILES[1], (data.DATA_HUB[FILES[1]][0], sha1(path)))
    with pytest.raises(DataError, match=r'labels must be 0-9, found 11..11'):
        read_fashion_mnist(folder)


def test_loader_batches_scale_and_reshuffle(idx_dir):
    folder, arrays = idx_dir
    train_iter, test_iter = load_data_fashion_mnist(6, path=folder, rng=np.random.default_rng(1))
    batches = list(train_iter)
    assert len(train_iter) == 4 and [X.shape for X, _ in batches] == [(6, 1, 28, 28)] * 3 + [(2, 1, 28, 28)]
    X, y = batches[0]
    assert X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    row = np.flatnonzero((arrays[0].reshape(20, -1) == np.rint(X[0].ravel() * 255)).all(axis=1))
    assert len(row) == 1 and y[0] == arrays[1][row[0]]               # image and label stay paired
    again = np.concatenate([y for _, y in train_iter])
    assert sorted(again) == sorted(arrays[1]) and not np.array_equal(again, np.concatenate([b[1] for b in batches]))
    test_y = np.concatenate([y for _, y in test_iter])
    np.testing.assert_array_equal(test_y, arrays[3])                 # the test set is not shuffled


def test_resize_is_bilinear_with_half_pixel_centres():
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    up = resize_images(img, 8)
    assert up.shape == (1, 8, 8)
    # output pixel 1 samples input coordinate (1 + 0.5) / 2 - 0.5 = 0.25 along each axis
    assert up[0, 1, 1] == pytest.approx(0.25 * 4 + 0.25)
    assert up[0, 0, 0] == 0 and up[0, 7, 7] == 15                   # edges clamp
    np.testing.assert_allclose(resize_images(img, 4), img)            # same size: unchanged
    with pytest.raises(ValueError, match=r'resize must be a positive int or \(height, width\), got 0'):
        resize_images(img, 0)


@pytest.mark.skipif(importlib.util.find_spec('torch') is None, reason='needs torch')
def test_resize_matches_torch_interpolate():
    import torch
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    want = torch.nn.functional.interpolate(torch.from_numpy(x)[:, None], size=(40, 20), mode='bilinear',
                                           align_corners=False, antialias=False)[:, 0].numpy()
    np.testing.assert_allclose(resize_images(x, (40, 20)), want, atol=1e-5)


def test_load_with_resize(idx_dir):
    folder, _ = idx_dir
    train_iter, _ = load_data_fashion_mnist(5, resize=32, path=folder)
    X, _ = next(iter(train_iter))
    assert X.shape == (5, 1, 32, 32) and X.dtype == np.float32


def test_synthetic_stand_in():
    X, y, Xt, yt = synthetic_fashion_mnist(100, 40, seed=3)
    assert X.shape == (100, 28, 28) and X.dtype == np.uint8 and y.dtype == np.int64 and Xt.shape == (40, 28, 28)
    assert set(np.unique(yt)) <= set(range(10)) and len(np.unique(y)) == 10
    again = synthetic_fashion_mnist(100, 40, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((X, y, Xt, yt), again))
    assert not np.array_equal(X, synthetic_fashion_mnist(100, 40, seed=4)[0])
    assert 0.15 < X.mean() / 255 < 0.4 and (X == 0).mean() > 0.1     # dark background, like the real images
    # each class is recognisable: nearest class mean (train) classifies clean test images well
    means = np.stack([X[y == c].reshape(-1, 784).mean(0) for c in range(10)])
    pred = ((Xt.reshape(-1, 1, 784) - means) ** 2).sum(-1).argmin(1)
    assert (pred == yt).mean() > 0.5
    with pytest.raises(ValueError, match='n_train must be an integer >= 1, got 0'):
        synthetic_fashion_mnist(0)


def test_text_labels():
    assert get_fashion_mnist_labels([0, 9, 3]) == ['t-shirt', 'ankle boot', 'dress']
