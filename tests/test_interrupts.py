"""Ctrl-C and SIGTERM sent to a real ``d2l-optim reproduce --out DIR`` at several points: exit
code 130, one line saying what DIR holds, no ``*.part`` file, and never a report beside
figures of another run. (Signals are sent once figures appear, so the points do not depend
on the machine's speed; 11.5 on NumPy writes seven figures in a few seconds.)
"""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGS = ['--backends', 'numpy', '--sections', '11.5']
LINE = re.compile(r'^interrupted; (?P<dir>.+) holds (?P<n>\d+) finished figures? and no report$')


def start(out: Path) -> subprocess.Popen:
    env = dict(os.environ, MPLBACKEND='Agg')
    return subprocess.Popen([sys.executable, '-m', 'd2l_optim', 'reproduce', *ARGS, '--out', str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def figures_since(out: Path, since: float) -> list[Path]:
    """The figures in ``out`` written at or after ``since``. The run being watched removes an
    older run's figures as it starts, so a file listed by ``glob`` may be gone by ``stat``."""
    found = []
    for p in out.glob('*.png'):
        try:
            if p.stat().st_mtime >= since:
                found.append(p)
        except FileNotFoundError:
            pass
    return found


def wait_for_figures(proc: subprocess.Popen, out: Path, n: int, since: float = 0.0) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f'reproduce ended before {n} figures: {proc.stderr.read()}')
        if len(figures_since(out, since)) >= n:
            return
        time.sleep(0.02)
    pytest.fail(f'no {n} figures in {out} after 120 s')


def finish(proc: subprocess.Popen) -> tuple[int, list[str]]:
    _, err = proc.communicate(timeout=120)
    return proc.returncode, [line for line in err.splitlines() if line.strip()]


def assert_clean_interrupt(code: int, lines: list[str], out: Path, since: float = 0.0) -> int:
    assert code == 130, lines
    assert 'Traceback' not in '\n'.join(lines)
    match = LINE.match(lines[-1])
    assert match, lines[-1]
    assert match['dir'] == str(out)
    assert not list(out.glob('*.part')), list(out.glob('*.part'))
    assert not (out / 'report.md').exists() and not (out / 'report.html').exists()
    figures = list(out.glob('*.png'))
    assert all(p.stat().st_mtime >= since for p in figures)      # none from an older run
    assert int(match['n']) == len(figures)
    return len(figures)


@pytest.mark.parametrize('sig, after, times', [(signal.SIGINT, 1, 1), (signal.SIGTERM, 4, 3)])
def test_signal_mid_run_leaves_finished_figures_and_no_report(sig, after, times, tmp_path):
    out = tmp_path / 'out'
    proc = start(out)
    wait_for_figures(proc, out, after)
    for _ in range(times):          # signals in quick succession do not cut the cleanup short
        proc.send_signal(sig)
    n = assert_clean_interrupt(*finish(proc), out)
    assert n >= after


def test_rerun_over_a_report_never_mixes_two_runs(tmp_path):
    out = tmp_path / 'out'
    code, lines = finish(start(out))
    assert code == 0, lines
    first = {p.name for p in out.glob('*.png')}
    assert (out / 'report.md').is_file() and len(first) >= 5
    # a real SIGKILL (nothing can clean up), and a part file such a kill leaves mid-write:
    # the next command writing here removes it
    proc = start(out)
    wait_for_figures(proc, out, 1, time.time())
    proc.kill()
    proc.communicate(timeout=60)
    stale = out / f'.11.5-gd-numpy.png.d2l-optim-{2 ** 22 + 7}-abcd1234.part'      # files.py's layout
    stale.write_bytes(b'')
    for sig in (signal.SIGTERM, signal.SIGINT):
        since = time.time() - 0.01
        proc = start(out)
        wait_for_figures(proc, out, 2, since)
        proc.send_signal(sig)
        assert_clean_interrupt(*finish(proc), out, since)
        assert not stale.exists()
    # a complete rerun: a fresh report over figures that are all its own
    since = time.time() - 0.01
    code, lines = finish(start(out))
    assert code == 0, lines
    report = (out / 'report.md').read_text()
    named = set(re.findall(r'[\w.+-]+\.png', report))
    assert named and named <= {p.name for p in out.glob('*.png')}
    assert all((out / n).stat().st_mtime >= since for n in named)
    assert not list(out.glob('*.part'))


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has its own SIGTERM handler yet (Linux: SigCgt in /proc)."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('SigCgt:'):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def test_the_command_line_loads_nothing_heavy_before_its_handler():
    """The handler is installed as the command starts, so its entry module loads no NumPy."""
    code = ('import sys, d2l_optim.cli\n'
            'print(sorted(m for m in ("numpy", "matplotlib", "d2l_optim.backend") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


@pytest.mark.skipif(not Path('/proc/self/status').is_file(), reason='reads handlers from Linux /proc')
def test_ctrl_c_while_the_command_still_loads_is_one_line(tmp_path):
    """Ctrl-C as soon as the handler is in place, while NumPy, matplotlib and the command load."""
    out = tmp_path / 'out'
    proc = start(out)
    deadline = time.monotonic() + 60
    while not _catches_sigterm(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGINT)
    code, lines = finish(proc)
    assert code == 130, lines
    assert lines in (['interrupted; no file was written'],          # before --out was read
                     [f'interrupted; {out} holds 0 finished figures and no report']), lines
    assert not list(tmp_path.rglob('*.part'))
