"""Fashion-MNIST from IDX gzip files the tests write themselves: lookup, checksums, errors,
batches, resizing, the synthetic stand-in, and the notebooks' loader downloading the files from
a local HTTP server (or falling back to the stand-in, saying why)."""
import functools
import gzip
import hashlib
import http.server
import importlib.util
import socket
import struct
import threading

import numpy as np
import pytest

from d2l_optim import data, fashion_mnist
from d2l_optim.data import DataError
from d2l_optim.fashion_mnist import (FILES, fashion_mnist_or_stand_in, get_fashion_mnist_labels,
                                     load_data_fashion_mnist, read_fashion_mnist, read_idx, resize_images,
                                     synthetic_fashion_mnist)

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


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing answers (a port that was free a moment ago)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return f'http://127.0.0.1:{s.getsockname()[1]}/'


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data directory, an empty cache, and DATA_HUB's Fashion-MNIST URLs where nothing answers."""
    monkeypatch.delenv('D2L_OPTIM_DATA_DIR', raising=False)
    monkeypatch.setattr(data, 'default_cache_dir', lambda: tmp_path / 'cache')
    base = refused_url()
    for name, fname in zip(FILES, NAMES):
        monkeypatch.setitem(data.DATA_HUB, name, (base + fname, data.DATA_HUB[name][1]))
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
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
    assert all(data.DATA_HUB[n][0].startswith(data.FASHION_MNIST_URL) for n in FILES)
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
    assert data.DATA_HUB[FILES[0]][1] in msg and 'Connection refused' in msg
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


# ---------------------------------------------------------------- the notebooks' loader, downloading

@pytest.fixture
def server(offline, monkeypatch):
    """A local HTTP server on 127.0.0.1 serving four small IDX files (30 train, 12 test), with
    DATA_HUB pointing at it and at their SHA-1s; the cache empty. ``requests``: the files asked for."""
    rng = np.random.default_rng(5)
    folder = offline / 'served'
    folder.mkdir()
    arrays = [rng.integers(0, 256, (30, 28, 28)), rng.integers(0, 10, 30),
              rng.integers(0, 256, (12, 28, 28)), rng.integers(0, 10, 12)]
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path.rsplit('/', 1)[-1])
            super().do_GET()

        def log_message(self, *args):
            pass
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f'http://127.0.0.1:{httpd.server_address[1]}/'
    for name, fname, a in zip(FILES, NAMES, arrays):
        monkeypatch.setitem(data.DATA_HUB, name, (base + fname, sha1(write_idx(folder / fname, a))))
    yield folder, arrays, requests
    httpd.shutdown()
    httpd.server_close()


def test_the_notebooks_loader_downloads_checks_and_uses_the_files(server, offline):
    folder, arrays, requests = server
    lines = []
    got, real = fashion_mnist_or_stand_in(log=lines.append)
    assert real and lines == ['Fashion-MNIST: 30 training and 12 test images']
    assert requests == NAMES                                       # each file fetched once
    for a, b in zip(got, arrays):
        np.testing.assert_array_equal(a, b)
    cache = offline / 'cache'
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES)   # no part file left
    assert all(sha1(cache / n) == sha1(folder / n) for n in NAMES)
    got, real = fashion_mnist_or_stand_in(20, 5, log=lines.append)     # now from the cache
    assert real and requests == NAMES and lines[-1] == 'Fashion-MNIST: the first 20 training and 5 test images'
    assert got[0].shape == (20, 28, 28) and got[3].shape == (5,)
    np.testing.assert_array_equal(got[2], arrays[2][:5])


def test_a_download_with_the_wrong_checksum_falls_back_to_the_stand_in(server, offline, monkeypatch):
    _, _, requests = server
    url, _ = data.DATA_HUB[FILES[0]]
    monkeypatch.setitem(data.DATA_HUB, FILES[0], (url, 'f' * 40))
    lines = []
    got, real = fashion_mnist_or_stand_in(stand_in=(40, 20), log=lines.append)
    assert not real and requests == NAMES[:1]
    (line,) = lines
    assert line.startswith('Fashion-MNIST is not available (downloaded train-images-idx3-ubyte.gz has SHA-1 ')
    assert line.endswith(f'expected {"f" * 40}, and was not kept): the synthetic stand-in, 40 training and '
                         f'20 test images, whose numbers say nothing about Fashion-MNIST')
    for a, b in zip(got, synthetic_fashion_mnist(40, 20, seed=0)):
        np.testing.assert_array_equal(a, b)
    cache = offline / 'cache'
    assert not cache.exists() or not any(cache.iterdir())         # the bad download was not kept


def test_unreachable_or_not_asked_to_download_gives_the_stand_in_and_says_so(offline):
    lines = []
    got, real = fashion_mnist_or_stand_in(log=lines.append)
    assert not real and len(got[0]) == 512 and len(got[2]) == 256
    assert lines == ['Fashion-MNIST is not available ([Errno 111] Connection refused): the synthetic '
                     'stand-in, 512 training and 256 test images, whose numbers say nothing about Fashion-MNIST']
    got, real = fashion_mnist_or_stand_in(download=False, log=lines.append)
    assert not real and lines[-1].startswith('Fashion-MNIST is not available (its four files are not in '
                                             '$D2L_OPTIM_DATA_DIR or the cache): ')
