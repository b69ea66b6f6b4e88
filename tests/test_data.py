"""Finding, checking and loading the airfoil data; every failure names the file and the fix.

Downloads are real HTTP requests (pooch, requests) to a small server on 127.0.0.1."""
import http.server
import io
import os
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from d2l_optim import data
from d2l_optim.airfoil import get_data_ch11
from d2l_optim.data import DATA_HUB, DataError, download, read_airfoil

SHA1 = DATA_HUB['airfoil'][1]     # checked against the real file below
SHARED = Path(os.environ['D2L_OPTIM_DATA_DIR'])


@pytest.fixture
def server(monkeypatch):
    """An HTTP server on 127.0.0.1 that DATA_HUB's airfoil entry points at: ``files``
    (name -> bytes) is what it serves, ``requests`` the paths asked for."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state.requests.append(self.path)
            body = state.files.get(self.path.lstrip('/'))
            self.send_response(200 if body is not None else 404)
            self.send_header('Content-Length', str(len(body or b'')))
            self.end_headers()
            self.wfile.write(body or b'')

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    state = type('Server', (), {'files': {}, 'requests': [],
                                'url': f'http://127.0.0.1:{httpd.server_address[1]}/'})
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setitem(DATA_HUB, 'airfoil', (state.url + 'airfoil_self_noise.dat', SHA1))
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data directory, an empty cache, and a data URL where nothing answers."""
    monkeypatch.delenv('D2L_OPTIM_DATA_DIR')
    monkeypatch.setattr(data, 'default_cache_dir', lambda: tmp_path / 'cache')
    with socket.socket() as s:              # a port that was free a moment ago: refused
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(DATA_HUB, 'airfoil', (f'http://127.0.0.1:{port}/airfoil_self_noise.dat', SHA1))
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    return tmp_path


def test_hub_entry_matches_data_checksums():
    """The checksum the loader trusts (DATA_HUB) and the one data/ publishes are the real
    file's, computed here from the copy in the data directory."""
    from d2l_optim.files import sha1_of
    real = sha1_of(SHARED / 'airfoil_self_noise.dat')
    assert DATA_HUB['airfoil'][1] == real
    sums = (Path(__file__).parents[1] / 'data' / 'SHA1SUMS').read_text().split()
    assert sums == [real, 'airfoil_self_noise.dat']


def test_airfoil_is_zscored_over_all_1503_rows():
    table = read_airfoil()
    assert table.shape == (1503, 6) and table.dtype == np.float32
    # float32 z-scoring, as the book: the column means are 0 to float32 rounding (~2e-5).
    np.testing.assert_allclose(table.mean(axis=0, dtype=np.float64), 0, atol=5e-5)
    np.testing.assert_allclose(table.std(axis=0), 1, atol=1e-5)     # population std, ddof 0
    raw = np.genfromtxt(SHARED / 'airfoil_self_noise.dat', delimiter='\t')
    assert raw[0, 0] == 800.0 and raw[0, -1] == pytest.approx(126.201)
    assert table[0, 0] == pytest.approx((800 - raw[:, 0].mean()) / raw[:, 0].std(), rel=1e-5)


def test_get_data_ch11_batches_and_reshuffles():
    data_iter, feature_dim = get_data_ch11(batch_size=100, n=1500, rng=np.random.default_rng(0))
    assert feature_dim == 5 and len(data_iter) == 15
    first = [y.copy() for _, y in data_iter]
    second = [y for _, y in data_iter]
    assert [x.shape for x, _ in data_iter] == [(100, 5)] * 15
    assert not np.array_equal(first[0], second[0])                 # a new order every pass
    np.testing.assert_allclose(np.sort(np.concatenate(first)), np.sort(np.concatenate(second)))
    X, y = data_iter.full()
    assert X.shape == (1500, 5) and y.shape == (1500,)
    np.testing.assert_array_equal(X, read_airfoil()[:1500, :5])


@pytest.mark.parametrize('batch_size', [0, -1, 1501, 2.5])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=r'batch_size must be an integer in \[1, 1500\]'):
        get_data_ch11(batch_size)


def test_explicit_path_then_env_then_cache(offline, server, monkeypatch):
    src = SHARED / 'airfoil_self_noise.dat'
    assert download('airfoil', path=src) == str(src)
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(SHARED))
    assert download('airfoil') == str(src)
    monkeypatch.delenv('D2L_OPTIM_DATA_DIR')
    cache = offline / 'cache'
    cache.mkdir()
    shutil.copy(src, cache)
    assert download('airfoil') == str(cache / 'airfoil_self_noise.dat')
    assert server.requests == []                       # a file found is never downloaded


def test_a_file_found_is_checked_never_replaced(server, tmp_path, monkeypatch):
    (tmp_path / 'airfoil_self_noise.dat').write_bytes(b'not the table')
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(tmp_path))
    server.files['airfoil_self_noise.dat'] = (SHARED / 'airfoil_self_noise.dat').read_bytes()
    with pytest.raises(DataError, match='is corrupt'):
        download('airfoil')
    assert server.requests == [] and (tmp_path / 'airfoil_self_noise.dat').read_bytes() == b'not the table'


def test_missing_offline_says_what_which_and_where(offline):
    with pytest.raises(DataError) as e:
        download('airfoil')
    msg = str(e.value)
    assert 'airfoil_self_noise.dat' in msg and SHA1 in msg and '\n' not in msg
    assert '$D2L_OPTIM_DATA_DIR' in msg and str(offline / 'cache') in msg
    assert 'Connection refused' in msg and 'HTTPConnectionPool' not in msg    # the cause, briefly
    assert not list((offline / 'cache').glob('*'))       # nothing half-written left behind


def test_download_is_checked_and_atomic(offline, server):
    payload = (SHARED / 'airfoil_self_noise.dat').read_bytes()
    server.files['airfoil_self_noise.dat'] = payload[:1000]
    with pytest.raises(DataError, match=f'downloaded airfoil_self_noise.dat has SHA-1 [0-9a-f]{{40}}, '
                                        f'expected {SHA1}, and was not kept'):
        download('airfoil')
    assert not list((offline / 'cache').glob('*'))
    server.files['airfoil_self_noise.dat'] = payload
    path = download('airfoil')
    assert Path(path).read_bytes() == payload and Path(path).parent == offline / 'cache'
    assert sorted(p.name for p in (offline / 'cache').iterdir()) == ['airfoil_self_noise.dat']
    assert server.requests == ['/airfoil_self_noise.dat'] * 2
    assert download('airfoil') == path and len(server.requests) == 2       # cached: no third request


def test_a_missing_file_on_the_server_is_one_line(offline, server):
    with pytest.raises(DataError) as e:
        download('airfoil')
    msg = str(e.value)
    assert '404' in msg and server.url in msg and '\n' not in msg and '$D2L_OPTIM_DATA_DIR' in msg


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal():
    assert data.show_progress(_Tty()) and not data.show_progress(io.StringIO())


def test_corrupt_file(tmp_path, monkeypatch):
    bad = tmp_path / 'airfoil_self_noise.dat'
    bad.write_bytes((SHARED / 'airfoil_self_noise.dat').read_bytes()[:-10])
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(tmp_path))
    with pytest.raises(DataError, match=f'is corrupt: SHA-1 [0-9a-f]{{40}}, expected {SHA1}'):
        get_data_ch11()


def test_unreadable_file(tmp_path, monkeypatch):
    (tmp_path / 'airfoil_self_noise.dat').mkdir()        # a directory where the file should be
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(tmp_path))
    with pytest.raises(DataError, match='cannot read .*airfoil_self_noise.dat'):
        get_data_ch11()


def test_unknown_data_set():
    with pytest.raises(ValueError, match="unknown data set 'mnist'; choose one of: airfoil"):
        download('mnist')
