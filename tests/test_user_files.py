"""Never lose a user's file (issue 21): a command replaces or removes only what its manifest
proves it wrote, writes through (or refuses) what is not a regular file, follows a symlink,
locks its output folder against a parallel run, stops on SIGHUP as on SIGTERM, and names a
bad environment or size before any work. Every row: the exit code, one line naming the path
or value and the fix, no traceback, and every file the user had byte for byte the same
(SHA-1 before and after).
"""
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from d2l_optim import files
from d2l_optim.cli import main

DEAD = 2 ** 22 + 4321           # above the default pid_max: no such process
ENV = dict(os.environ, MPLBACKEND='Agg')


def sha1s(root: Path) -> dict:
    """Every regular file under ``root`` (hidden ones too) -> its SHA-1."""
    return {p.relative_to(root): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in root.rglob('*') if p.is_file() and not p.is_symlink()}


def our_lines(err: str) -> list[str]:
    return [line for line in err.splitlines()
            if line.strip() and 'tensorflow' not in line and 'oneDNN' not in line and 'absl' not in line]


def run_cli(argv: list[str], capsys) -> tuple[int, list[str], str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, our_lines(captured.err), captured.out


# ------------------------------------------------------------------ one row per class

def user_file_of_our_name(t: Path) -> dict:
    (t / 'o').mkdir()
    (t / 'o' / 'sgd-numpy.png').write_bytes(b'the user\'s own figure')
    return dict(argv=['run', 'sgd', '--epochs', '1', '--out', 'o'], code=2,
                needles=['o/sgd-numpy.png', 'not a file d2l-optim wrote', 'move it away'])


def user_file_changed_since_we_wrote_it(t: Path) -> dict:
    assert main(['run', 'sgd', '--epochs', '1', '--out', 'o']) == 0
    (t / 'o' / 'sgd-numpy.png').write_bytes(b'edited by the user')
    return dict(argv=['run', 'sgd', '--epochs', '1', '--out', 'o'], code=2,
                needles=['o/sgd-numpy.png', 'changed since', 'choose another folder'])


def part_lookalikes_of_the_user(t: Path) -> dict:
    (t / 'o').mkdir()
    (t / 'o' / f'lecture.{DEAD}.mp4.part').write_bytes(b'half a lecture')
    (t / 'o' / f'sgd-numpy.png.{DEAD}.abcd1234.part').write_bytes(b'an old layout, no manifest')
    (t / 'o' / 'notes.txt.part').write_bytes(b'notes')
    return dict(argv=['run', 'sgd', '--epochs', '1', '--out', 'o'], code=0, needles=[])


def socket_as_json(t: Path) -> dict:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(t / 'sock'))
    s.close()
    return dict(argv=['run', 'sgd', '--epochs', '1', '--json', 'sock'], code=2,
                needles=['--json sock', 'is a socket', 'name a file'])


def block_device_as_json(t: Path) -> dict:
    if os.geteuid() != 0:
        pytest.skip('making a device node takes root')
    os.mknod(t / 'disk', 0o600 | stat.S_IFBLK, os.makedev(240, 7))    # a local-use major: no driver
    return dict(argv=['run', 'sgd', '--epochs', '1', '--json', 'disk'], code=2,
                needles=['--json disk', 'block device', 'name a file'])


def dangling_symlink_as_json(t: Path) -> dict:
    (t / 'runs.json').symlink_to(t / 'gone' / 'runs.json')
    return dict(argv=['run', 'sgd', '--epochs', '1', '--json', 'runs.json'], code=2,
                needles=['--json runs.json', 'symbolic link', 'does not exist', 'name the file itself'])


def invalid_mplbackend(t: Path) -> dict:
    return dict(argv=['run', 'sgd', '--epochs', '1', '--out', 'o'], code=2, env={'MPLBACKEND': 'nosuchbackend'},
                needles=["MPLBACKEND='nosuchbackend'", 'MPLBACKEND=Agg'])


def mplbackend_module_not_installed(t: Path) -> dict:
    return dict(argv=['compare-2d', '--out', 'o'], code=2, env={'MPLBACKEND': 'module://no_such_backend'},
                needles=["MPLBACKEND='module://no_such_backend'", 'unset it'])


def seeds_beyond_any_sweep(t: Path) -> dict:
    return dict(argv=['sweep', 'sgd', '--lr', '0.1', '--seeds', '100000000', '--out', 'o'], code=2,
                needles=['--seeds 100000000', 'at most', 'use fewer seeds'])


def nan_in_the_data(t: Path) -> dict:
    src = Path(os.environ.get('D2L_OPTIM_DATA_DIR', '/nonexistent')) / 'airfoil_self_noise.dat'
    if not src.is_file():
        pytest.skip('the airfoil data is not on this machine')
    rows = src.read_text().splitlines()
    rows[7] = '\t'.join(['nan', *rows[7].split('\t')[1:]])
    (t / 'data').mkdir()
    (t / 'data' / src.name).write_text('\n'.join(rows) + '\n')
    return dict(argv=['run', 'sgd', '--epochs', '1'], code=2, env={'D2L_OPTIM_DATA_DIR': str(t / 'data')},
                needles=[src.name, 'corrupt', 'put the right file there'])


def user_file_named_like_a_reproduce_figure(t: Path) -> dict:
    """The last figure 11.3 draws: refused before the first is drawn."""
    (t / 'o').mkdir()
    (t / 'o' / '11.3-newton-nonconvex-eta0.5-core.png').write_bytes(b"the user's own figure")
    return dict(argv=['reproduce', '--backends', 'numpy', '--sections', '11.3', '--out', 'o'], code=2,
                needles=['d2l-optim reproduce: error: o/11.3-newton-nonconvex-eta0.5-core.png:',
                         'not a file d2l-optim wrote', 'move it away or choose another folder'])


ROWS = {f.__name__: f for f in (
    user_file_of_our_name, user_file_changed_since_we_wrote_it, part_lookalikes_of_the_user,
    socket_as_json, block_device_as_json, dangling_symlink_as_json, invalid_mplbackend, mplbackend_module_not_installed,
    seeds_beyond_any_sweep, nan_in_the_data, user_file_named_like_a_reproduce_figure)}


@pytest.mark.parametrize('case', ROWS)
def test_user_files_stay(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    row = ROWS[case](tmp_path)
    capsys.readouterr()
    for k, v in row.get('env', {}).items():
        monkeypatch.setenv(k, v)
    before = sha1s(tmp_path)
    code, lines, out = run_cli(row['argv'], capsys)
    assert code == row['code'], lines
    assert 'Traceback' not in '\n'.join(lines)
    if row['needles']:
        assert len(lines) == 1, lines
        for needle in row['needles']:
            assert needle in lines[0], (needle, lines[0])
        assert 'loss:' not in out           # refused before the work
    after = sha1s(tmp_path)
    assert {p: h for p, h in after.items() if p in before} == before       # the user's files, unchanged
    assert not [p for p in after if files.target_of(p) != str(p)]          # no part file of ours left
    if code == 2:
        assert set(after) == set(before)    # nothing written at all


def test_a_symlink_is_followed_and_stays_a_link(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'real').mkdir()
    (tmp_path / 'real' / 'runs.json').write_text('old runs')
    (tmp_path / 'link.json').symlink_to(tmp_path / 'real' / 'runs.json')
    (tmp_path / 'real' / 'keep.txt').write_text('a file beside the target')
    before = sha1s(tmp_path / 'real')
    code, lines, _ = run_cli(['run', 'sgd', '--epochs', '1', '--json', 'link.json'], capsys)
    assert code == 0, lines
    assert (tmp_path / 'link.json').is_symlink()
    assert os.readlink(tmp_path / 'link.json') == str(tmp_path / 'real' / 'runs.json')
    assert (tmp_path / 'real' / 'runs.json').read_text().startswith('[')
    after = sha1s(tmp_path / 'real')
    assert after[Path('keep.txt')] == before[Path('keep.txt')]
    assert set(after) == set(before)        # no part file left beside the target


def test_a_fifo_is_written_through_not_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fifo = tmp_path / 'runs.json'
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    code, lines, _ = run_cli(['run', 'sgd', '--epochs', '1', '--json', str(fifo)], capsys)
    reader.join(30)
    assert code == 0, lines
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and got[0].startswith('[') and '"optimizer": "sgd"' in got[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['runs.json']


def test_dev_null_stays_a_device_in_a_private_mount_namespace(tmp_path):
    """``--json /dev/null`` as root, on a /dev of our own (a tmpfs in a private mount
    namespace, never the machine's): the device is written through and stays a device."""
    if os.geteuid() != 0 or not shutil.which('unshare') or \
            subprocess.run(['unshare', '-m', 'true'], capture_output=True).returncode != 0:
        pytest.skip('needs root and unshare -m (a private mount namespace)')
    script = (f'mount -t tmpfs d2l-optim-test /dev && mknod -m 666 /dev/null c 1 3 && '
              f'{sys.executable} -m d2l_optim run sgd --epochs 1 --json /dev/null && stat -c %F /dev/null')
    out = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script],
                         capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == 'character special file'


# ------------------------------------------------------------------ the manifest, in Python

def test_owned_and_remove_owned_keep_what_the_user_changed(tmp_path):
    with files.output_folder(tmp_path):
        for name in ('a.png', 'b.png', 'sub/c.png'):
            with files.atomic_write(tmp_path / name) as f:
                f.write(name)
    (tmp_path / 'b.png').write_text('edited')               # ours, then the user's
    (tmp_path / 'user.png').write_text('never ours')
    assert [files.owned(tmp_path / n) for n in ('a.png', 'b.png', 'sub/c.png', 'user.png')] == \
        [True, False, True, False]
    assert files.changed(tmp_path) == [tmp_path / 'b.png']
    removed, kept = files.remove_owned(tmp_path / n for n in ('a.png', 'b.png', 'sub/c.png', 'user.png'))
    assert removed == [tmp_path / 'a.png', tmp_path / 'sub' / 'c.png']
    assert kept == [tmp_path / 'b.png', tmp_path / 'user.png']
    assert (tmp_path / 'b.png').read_text() == 'edited' and (tmp_path / 'user.png').read_text() == 'never ours'
    assert set(files.manifest(tmp_path)) == {'b.png'}       # what is gone is no longer listed


def test_in_an_output_folder_a_users_file_is_not_replaced_but_a_named_one_is(tmp_path):
    (tmp_path / 'report.md').write_text("the user's notes")
    (tmp_path / 'runs.json').write_text('old')
    with files.output_folder(tmp_path):
        with pytest.raises(files.NotOursError) as e:
            with files.atomic_write(tmp_path / 'report.md') as f:
                f.write('ours')
        assert e.value.filename == str(tmp_path / 'report.md')
        with files.atomic_write(tmp_path / 'runs.json', user_named=True) as f:     # --json runs.json
            f.write('new')
    assert (tmp_path / 'report.md').read_text() == "the user's notes"
    assert (tmp_path / 'runs.json').read_text() == 'new' and files.owned(tmp_path / 'runs.json')
    assert sorted(p.name for p in tmp_path.iterdir()) == [files.MANIFEST, 'report.md', 'runs.json']


# ------------------------------------------------------------------ parallel runs

WRITER = '''
import sys, time
from pathlib import Path
from d2l_optim import files
out, tag = Path(sys.argv[1]), sys.argv[2]
with files.output_folder(out, 'writer ' + tag):
    start = time.time()
    for i in range(3):
        with files.atomic_write(out / f'{i}.txt') as f:
            f.write(tag)
        time.sleep(0.05)
    print(start, time.time(), flush=True)
'''


@pytest.mark.parametrize('round_', range(3))
def test_parallel_writers_into_one_folder_take_turns(round_, tmp_path):
    out = tmp_path / 'out'
    procs = [subprocess.Popen([sys.executable, '-c', WRITER, str(out), str(i)], env=ENV, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    spans = sorted(tuple(map(float, o.split())) for o, _ in results)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans     # one after another
    waited = [e for _, e in results if 'waiting for another d2l-optim command' in e]
    assert len(waited) >= 1                  # started together: at least one waited, and said so
    tags = {(out / f'{i}.txt').read_text() for i in range(3)}
    assert len(tags) == 1                    # the folder holds one writer's files, not a mix
    assert all(files.owned(out / f'{i}.txt') for i in range(3))


def test_parallel_commands_into_one_folder(tmp_path):
    out = tmp_path / 'o'
    out.mkdir()
    (out / 'mine.txt').write_text("the user's")
    procs = [subprocess.Popen([sys.executable, '-m', 'd2l_optim', 'run', opt, '--epochs', '1', '--out', str(out),
                               '--json', str(out / f'{opt}.json')], env=ENV, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for opt in ('sgd', 'adagrad', 'sgd')]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    assert (out / 'mine.txt').read_text() == "the user's"
    listed = files.manifest(out)
    assert set(listed) == {'sgd-numpy.png', 'adagrad-numpy.png', 'sgd.json', 'adagrad.json'}
    assert all(files.owned(out / name) for name in listed)


def test_a_busy_folder_is_refused_in_one_line_after_the_timeout(tmp_path):
    out = tmp_path / 'o'
    before = {}
    with files.output_folder(out):
        proc = subprocess.run([sys.executable, '-m', 'd2l_optim', 'run', 'sgd', '--epochs', '1', '--out', str(out)],
                              env=dict(ENV, D2L_OPTIM_LOCK_TIMEOUT='0.5'), capture_output=True, text=True,
                              timeout=120)
    lines = our_lines(proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert lines[0].startswith('d2l-optim run: waiting for another d2l-optim command that writes into')
    assert len(lines) == 2 and str(out) in lines[1] and 'still writing here after 0.5 s' in lines[1] \
        and 'choose another folder' in lines[1], lines
    assert sha1s(tmp_path) == before


# ------------------------------------------------------------------ signals

def _catches(pid: int, sig: int) -> bool:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('SigCgt:'):
            return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    return False


@pytest.mark.skipif(not Path('/proc/self/status').is_file(), reason='reads handlers from Linux /proc')
@pytest.mark.parametrize('sig', [signal.SIGHUP, signal.SIGTERM], ids=['SIGHUP', 'SIGTERM'])
def test_sighup_stops_a_command_as_sigterm_does(sig, tmp_path):
    """The terminal closed: one line saying what the command keeps, exit 130, no part file."""
    out = tmp_path / 'o'
    out.mkdir()
    (out / 'mine.png').write_bytes(b'user')
    proc = subprocess.Popen([sys.executable, '-m', 'd2l_optim', 'sweep', 'sgd', '--lr', '1e-3:1:400',
                             '--seeds', '200', '--epochs', '50', '--out', str(out)], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not _catches(proc.pid, sig) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(1.0)                 # into the work
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    lines = our_lines(err)
    assert proc.returncode == 130, err
    assert lines == [f'interrupted; nothing was written to {out}'], lines
    assert sorted(p.name for p in out.iterdir()) == ['mine.png']


def test_a_full_disk_is_one_line_naming_the_path(tmp_path):
    """On a 200 kB tmpfs (a private mount namespace) filled up but 4 kB: the figure cannot be
    written; one line names it, no part file is left, the user's file there stays."""
    if os.geteuid() != 0 or not shutil.which('unshare') or \
            subprocess.run(['unshare', '-m', 'true'], capture_output=True).returncode != 0:
        pytest.skip('needs root and unshare -m (a private mount namespace)')
    disk = tmp_path / 'disk'
    disk.mkdir()
    script = (f'mount -t tmpfs -o size=200k d2l-optim-test {disk} && echo user > {disk}/mine.txt && '
              f'(head -c 190000 /dev/zero > {disk}/filler || true) && '
              f'{sys.executable} -m d2l_optim run sgd --epochs 1 --out {disk}/o; echo "exit $?"; '
              f'ls -A {disk} {disk}/o; cat {disk}/mine.txt')
    out = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script],
                         capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=120)
    lines = our_lines(out.stderr)
    assert 'exit 2' in out.stdout, (out.stdout, out.stderr)
    assert lines == [f'd2l-optim run: error: {disk}/o/sgd-numpy.png: No space left on device; nothing '
                     f'was written there: free some space or choose another folder'], lines
    listing = out.stdout.split('exit 2', 1)[1].split()
    assert listing == [f'{disk}:', 'filler', 'mine.txt', 'o', f'{disk}/o:', 'user'], listing


# ------------------------------------------------------------------ what an interrupt message says

def test_the_interrupt_message_says_what_the_command_keeps(tmp_path, monkeypatch):
    from d2l_optim import interrupts
    out = tmp_path / 'g'
    monkeypatch.setattr(files, 'finished', [out / 'grades.csv', out / 'feedback' / 'a.md', out / 'grades.csv',
                                            tmp_path / 'runs.json'])
    assert interrupts.interrupted_message(str(out), 'lab') == \
        f'interrupted; {out} keeps 2 finished files (grades.csv, feedback/a.md), {tmp_path / "runs.json"}; ' \
        f'nothing half-written'
    assert interrupts.interrupted_message(str(out), 'reproduce') == \
        f'interrupted; {out} holds 0 finished figures and no report'
    with interrupts.describe_kept(lambda: f'{out / "grades.csv"} holds 3 graded rows'):
        assert interrupts.interrupted_message(str(out), 'lab') == \
            f'interrupted; {out / "grades.csv"} holds 3 graded rows'
    monkeypatch.setattr(files, 'finished', [])
    assert interrupts.interrupted_message(str(out), 'run') == f'interrupted; nothing was written to {out}'
    assert interrupts.interrupted_message(None, 'run') == 'interrupted; no file was written'


def test_write_together_is_all_or_none(tmp_path):
    (tmp_path / 'report.md').write_text('old md')
    (tmp_path / 'report.html').write_text('old html')
    (tmp_path / 'afile').write_text('a file, so nothing can be made under it')
    before = sha1s(tmp_path)
    with pytest.raises(OSError):
        files.write_together({tmp_path / 'report.md': 'new md', tmp_path / 'afile' / 'x.html': 'x'})
    assert sha1s(tmp_path) == before
    assert files.write_together({tmp_path / 'report.md': 'new md', tmp_path / 'report.html': b'new html'}) \
        == [tmp_path / 'report.md', tmp_path / 'report.html']
    assert (tmp_path / 'report.md').read_text() == 'new md' and (tmp_path / 'report.html').read_text() == 'new html'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['afile', 'report.html', 'report.md']


FILL_UP = """
import sys
from pathlib import Path
from d2l_optim import files
disk = Path(sys.argv[1])
try:
    files.write_together({disk / 'report.md': 'new md', disk / 'report.html': 'x' * 400_000})
except OSError as e:
    print(e.filename, e.strerror)
"""


def test_a_full_disk_leaves_neither_half_of_a_pair(tmp_path):
    if os.geteuid() != 0 or not shutil.which('unshare') or \
            subprocess.run(['unshare', '-m', 'true'], capture_output=True).returncode != 0:
        pytest.skip('needs root and unshare -m (a private mount namespace)')
    disk = tmp_path / 'disk'
    disk.mkdir()
    script = (f'mount -t tmpfs -o size=200k d2l-optim-test {disk} && echo old > {disk}/report.md && '
              f'{sys.executable} -c "$0" {disk} && ls -A {disk} && cat {disk}/report.md')
    out = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, FILL_UP],
                         capture_output=True, text=True, env=ENV, timeout=120)
    assert out.stdout.split('\n')[0].startswith(f'{disk}/report.html No space left on device'), out
    assert out.stdout.split('\n')[1:] == ['report.md', 'old', ''], out


def test_a_worker_opening_its_commands_folder_does_not_wait_for_it(tmp_path):
    """The command holds the lock; a worker it started may open the same folder (no deadlock)."""
    code = ('import sys; from pathlib import Path; from d2l_optim import files\n'
            'with files.output_folder(sys.argv[1]):\n'
            '    with files.atomic_write(Path(sys.argv[1]) / "w.txt") as f:\n'
            '        f.write("worker")\n')
    with files.output_folder(tmp_path):
        proc = subprocess.run([sys.executable, '-c', code, str(tmp_path)], env=dict(os.environ, **{
            'D2L_OPTIM_LOCK_TIMEOUT': '5'}), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert files.owned(tmp_path / 'w.txt')


def test_nan_in_the_features_is_named_as_a_data_problem():
    import numpy as np
    from d2l_optim import data
    X = np.ones((20, 5), np.float32)
    X[7, 2] = np.nan
    X[9, 0] = np.inf
    with pytest.raises(data.DataError, match=r'row 7.*column 2') as e:
        data.ArrayLoader((X, np.ones(20, np.float32)), 10)
    assert str(e.value) == ('the features (arrays[0]) hold nan at row 7, column 2 (2 non-finite value(s) in all): '
                            'a data problem, not the learning rate; drop or fill those rows before loading '
                            '(e.g. keep = np.isfinite(X).all(axis=1) & np.isfinite(y))')
    y = np.ones(20, np.float32)
    y[3] = -np.inf
    with pytest.raises(data.DataError, match=r'^the labels \(arrays\[1\]\) hold -inf at row 3 \('):
        data.ArrayLoader((np.ones((20, 5), np.float32), y), 10)
    data.ArrayLoader((np.zeros((20, 5), np.uint8), np.arange(20)), 10)     # integers: nothing to check


def test_nan_through_the_book_api_is_a_data_error_not_a_divergence():
    """``d2l.load_array`` on features holding NaN stops there, as a data problem, before
    ``train_ch11`` could blame the learning rate."""
    import numpy as np
    from conftest import load_or_skip
    from d2l_optim import data
    d2l = load_or_skip('numpy')
    X, y = d2l.get_data_ch11(10)[0].arrays
    X = X.copy()
    X[42, 4] = np.nan
    with pytest.raises(data.DataError, match=r'^the features \(arrays\[0\]\) hold nan at row 42, column 4 '
                       r'.*a data problem, not the learning rate'):
        d2l.load_array((X, y), 10)


def _rmsprop(p, g, state, hp, t, xp):
    (s,) = state
    s = hp['gamma'] * s + (1 - hp['gamma']) * g * g
    return p - hp['lr'] * g / xp.sqrt(s + 1e-6), (s,)


@pytest.mark.parametrize('damage', ['truncated', 'nan'])
def test_check_names_a_corrupt_copy_with_runs_message(damage, tmp_path, monkeypatch, capsys):
    """``check`` on a corrupt copy raises DataError with the line ``run`` prints for the same
    file (it does not grade on the seeded steps only, nor call the data missing)."""
    import d2l_optim
    from d2l_optim import data
    src = Path(os.environ.get('D2L_OPTIM_DATA_DIR', '/nonexistent')) / 'airfoil_self_noise.dat'
    if not src.is_file():
        pytest.skip('the airfoil data is not on this machine')
    (tmp_path / 'data').mkdir()
    copy = tmp_path / 'data' / src.name
    text = src.read_bytes()
    copy.write_bytes(text[:len(text) // 2] if damage == 'truncated' else text.replace(b'\n', b'\nnan\t', 1))
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(tmp_path / 'data'))
    monkeypatch.chdir(tmp_path)
    before = sha1s(tmp_path)
    capsys.readouterr()
    code, lines, _ = run_cli(['run', 'rmsprop', '--epochs', '1'], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith('d2l-optim run: error: '), lines
    runs = lines[0][len('d2l-optim run: error: '):]
    assert runs.startswith(f'{copy} is corrupt: SHA-1 ') and 'put the right file there' in runs, runs
    with pytest.raises(data.DataError) as e:
        d2l_optim.check(_rmsprop, 'rmsprop')
    assert str(e.value) == runs
    assert sha1s(tmp_path) == before
    monkeypatch.setenv('D2L_OPTIM_DATA_DIR', str(src.parent))       # the good copy: the check grades
    result = d2l_optim.check(_rmsprop, 'rmsprop')
    assert result.passed and 'airfoil epoch (150 minibatches)' in result.message, result.message


# ------------------------------------------------------------------ reproduce (issue 21, phase 2)

REPRODUCE = [sys.executable, '-m', 'd2l_optim', 'reproduce', '--backends', 'numpy', '--sections', '11.5']


def test_reproduce_removes_only_its_own_figures(tmp_path):
    out = tmp_path / 'o'
    out.mkdir()
    (out / '11.5-mine.png').write_bytes(b"the user's own figure")
    (out / 'notes.md').write_text('my notes: see fig.png and 11.5-train-sgd-gd-numpy.png')
    (out / 'fig.png').write_bytes(b'named by the notes')
    users = sha1s(out)
    for _ in range(2):              # the second run replaces the first's figures and report
        proc = subprocess.run([*REPRODUCE, '--out', str(out)], env=ENV, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
    assert {p: h for p, h in sha1s(out).items() if p in users} == users
    listed = files.manifest(out)
    assert 'report.md' in listed and all(files.owned(out / n) for n in listed)
    import re
    named = set(re.findall(r'[\w.+-]+\.png', (out / 'report.md').read_text()))
    assert named and all((out / n).is_file() for n in named)
    from d2l_optim.reproduce.plan import figure_names, make_plan     # checked before work: every one it wrote
    assert {n for n in listed if n.endswith('.png')} <= set(figure_names(make_plan(['numpy'], ['11.5'])))


def test_reproduce_refuses_a_users_report_before_any_work(tmp_path):
    out = tmp_path / 'o'
    out.mkdir()
    (out / 'report.md').write_text('my report: see fig.png')
    (out / 'fig.png').write_bytes(b'mine')
    before = sha1s(tmp_path)
    proc = subprocess.run([*REPRODUCE, '--out', str(out)], env=ENV, capture_output=True, text=True, timeout=300)
    lines = our_lines(proc.stderr)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert lines == [f'd2l-optim reproduce: error: {out}/report.md: is not a file d2l-optim wrote (or it '
                     f'changed since), so it is kept; move it away or choose another folder'], lines
    assert sha1s(tmp_path) == before


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f'/proc/{pid}/task').iterdir():
        with contextlib.suppress(OSError):
            kids += [int(k) for k in (task / 'children').read_text().split()]
    return kids


@pytest.mark.skipif(not Path('/proc/self/task').is_dir(), reason='finds the workers in Linux /proc')
def test_a_killed_worker_keeps_the_finished_rows_and_names_its_unit(tmp_path):
    """The out-of-memory killer (SIGKILL) takes one worker: the others' rows are kept, the report
    says which unit did not finish and why, exit 1, one line, no traceback."""
    out = tmp_path / 'o'
    proc = subprocess.Popen([*REPRODUCE, '11.4', '--jobs', '2', '--out', str(out)], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.is_dir() and list(out.glob('*.png'))):
        time.sleep(0.01)
    workers = [k for k in _children(proc.pid) if 'multiprocessing' in Path(f'/proc/{k}/cmdline').read_text()]
    assert workers, 'no worker process found'
    os.kill(workers[-1], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    lines = our_lines(err)
    if proc.returncode == 0:
        pytest.skip('the worker had finished its unit before the kill')
    assert proc.returncode == 1, err
    assert 'Traceback' not in err
    died = [line for line in lines if 'did not finish: its worker was killed by SIGKILL' in line]
    assert len(died) == 1, lines
    report = (out / 'report.md').read_text()
    assert 'did not finish: its worker was killed by SIGKILL' in report
    assert (out / 'report.html').is_file()


# ------------------------------------------------------------------ lab grade (issue 21, phase 2)

def _fake_grading(monkeypatch, verdicts: dict):
    """grade_notebook without a kernel: each submission passes or fails one check, as told."""
    from d2l_optim import grading

    def fake(path, timeout, backend, label, **kwargs):
        return grading.Graded(Path(path), [grading.CheckRow(label, 'momentum', verdicts[Path(path).parent.name])])
    monkeypatch.setattr(grading, 'grade_notebook', fake)


def test_lab_grade_rerun_keeps_earlier_rows_and_feedback_names_are_unique(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for folder in ('a__b', 'a', 'c'):
        (tmp_path / 'subs' / folder).mkdir(parents=True)
    for nb in ('a__b/x.ipynb', 'a/b__x.ipynb', 'c/x.ipynb'):
        (tmp_path / 'subs' / nb).write_text('{}')
    _fake_grading(monkeypatch, {'a__b': True, 'a': False, 'c': False})
    assert main(['lab', 'grade', 'subs/a__b/x.ipynb', 'subs/a/b__x.ipynb', '--out', 'g', '--sandbox', 'none']) == 0
    feedback = sorted(p.name for p in (tmp_path / 'g' / 'feedback').iterdir())
    assert len(feedback) == 2                   # 'a__b/x' and 'a/b__x' do not share a page
    _fake_grading(monkeypatch, {'a__b': True, 'a': True, 'c': False})
    capsys.readouterr()
    assert main(['lab', 'grade', 'subs/a/b__x.ipynb', 'subs/c/x.ipynb', '--out', 'g', '--sandbox', 'none']) == 0
    out = capsys.readouterr().out
    assert 'kept 1 row(s) of 1 submission(s) graded before; replaced the rows of 1 submission(s) graded again' \
        in out, out
    import csv
    with open(tmp_path / 'g' / 'grades.csv', newline='') as f:
        rows = {(r['file'], r['passed']) for r in csv.DictReader(f)}
    assert rows == {('subs/a__b/x.ipynb', 'True'), ('subs/a/b__x.ipynb', 'True'), ('subs/c/x.ipynb', 'False')}


def test_lab_grade_refuses_a_grades_csv_it_did_not_write(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 's').mkdir()
    (tmp_path / 's' / 'x.ipynb').write_text('{}')
    (tmp_path / 'g').mkdir()
    (tmp_path / 'g' / 'grades.csv').write_text("file,check\nthe teacher's own,table\n")
    _fake_grading(monkeypatch, {'s': True})
    before = sha1s(tmp_path)
    code, lines, _ = run_cli(['lab', 'grade', 's/x.ipynb', '--out', 'g', '--sandbox', 'none'], capsys)
    lines = [line for line in lines if 'unsandboxed' not in line.lower() and 'sandbox' not in line.lower()]
    assert code == 2 and lines == ['d2l-optim lab: error: g/grades.csv: is not a file d2l-optim wrote (or it '
                                   'changed since), so it is kept; move it away or choose another folder'], lines
    assert sha1s(tmp_path) == before


# ------------------------------------------------------------------ lab build (issue 21, phase 2)

def test_lab_build_refuses_to_revert_edits_and_a_student_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    build = ['lab', 'build', '--sections', '11.8', '--out', 'lab']
    assert main(build) == 0
    edited = tmp_path / 'lab' / 'student' / '11.8-rmsprop.ipynb'
    edited.write_text(edited.read_text().replace('"cells"', '"cells"', 1) + '\n')     # the teacher's edit
    before = sha1s(tmp_path)
    capsys.readouterr()
    code, lines, _ = run_cli(build, capsys)
    assert code == 2 and len(lines) == 1, lines
    for needle in ('--out lab', 'student/11.8-rmsprop.ipynb', 'changed since', '--force'):
        assert needle in lines[0], (needle, lines[0])
    assert sha1s(tmp_path) == before
    code, lines, _ = run_cli(['lab', 'build', '--notebooks', 'lab/student', '--out', 'lab2'], capsys)
    assert code == 2 and len(lines) == 1, lines
    for needle in ('--notebooks lab/student', 'holds a solution', 'lab/solution'):
        assert needle in lines[0], (needle, lines[0])
    assert not (tmp_path / 'lab2').exists()
    assert main([*build, '--force']) == 0
    assert files.owned(edited) and not files.changed(tmp_path / 'lab')
