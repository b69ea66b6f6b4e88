"""Units of work in worker processes (``d2l_optim.workers``) and ``reproduce`` run on them:
the same rows as one process, every message delivered, a crash named, and Ctrl-C, SIGTERM
or SIGKILL of the parent leaving no worker, no part file and an exact count of figures."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from d2l_optim.workers import WorkerFailed, default_jobs, run_units


def squares(task: int, emit) -> None:
    """A unit for the tests: its own pid, then two messages; 3 fails, 4 dies outright."""
    if task == 3:
        raise ValueError('three is bad')
    if task == 4:
        os._exit(7)
    emit(('pid', task, os.getpid()))
    emit(('thread', task, os.environ.get('OMP_NUM_THREADS')))
    emit(('square', task, task * task))


def collect(tasks, jobs):
    got = []
    run_units(squares, tasks, got.append, jobs)
    return got


def test_every_message_arrives_once_from_other_processes():
    got = collect([0, 1, 2, 5, 6], jobs=2)
    squares_seen = sorted(v for kind, _, v in got if kind == 'square')
    assert squares_seen == [0, 1, 4, 25, 36]
    pids = {v for kind, _, v in got if kind == 'pid'}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert {v for kind, _, v in got if kind == 'thread'} == {'1'}      # one thread per worker
    for task in (0, 1, 2, 5, 6):        # a unit's messages keep their order
        kinds = [kind for kind, t, _ in got if t == task]
        assert kinds == ['pid', 'thread', 'square']


def test_one_job_runs_here_in_order():
    got = collect([2, 1], jobs=1)
    assert got[0] == ('pid', 2, os.getpid()) and [v for k, _, v in got if k == 'square'] == [4, 1]


def test_a_failing_or_dying_unit_is_named_and_the_others_finish():
    got = []
    with pytest.raises(WorkerFailed) as e:
        run_units(squares, [3, 1, 4, 2], got.append, 2)
    assert "3 failed: ValueError: three is bad" in str(e.value)
    assert 'the worker for 4 exited with code 7' in str(e.value)
    assert 1 in [v for k, _, v in got if k == 'square']     # unit 1 ran before or beside the failures


def test_default_jobs():
    assert default_jobs(1) == 1 and default_jobs(100) == (os.cpu_count() or 1)
    assert default_jobs(0) == 1


# ------------------------------------------------------------------ reproduce on two processes

ARGS = ['--backends', 'numpy', '--sections', '11.3,11.5,11.6']      # core + numpy: two units


def test_reproduce_on_two_jobs_gives_the_rows_of_one(tmp_path):
    from d2l_optim.reproduce import reproduce
    one = reproduce(['numpy'], ['11.3', '11.5', '11.6'], tmp_path / 'one', jobs=1, progress_stream=open(os.devnull, 'w'))
    two = reproduce(['numpy'], ['11.3', '11.5', '11.6'], tmp_path / 'two', jobs=2, progress_stream=open(os.devnull, 'w'))

    timed = ('matmul-gflops', 'time-vs-loss')      # 11.5's timings differ, all else is seeded

    def key(rows):
        return [(r.section, r.experiment, r.backend, r.in_range, r.figures,
                 *(('', {}) if r.experiment in timed else
                   (re.sub(r'[\d.]+ sec/epoch', '', r.ours), r.values)))
                for r in rows]
    assert key(one['rows']) == key(two['rows']) and len(one['rows']) >= 20
    assert sum(r.experiment in timed for r in two['rows']) == 2
    assert sorted(p.name for p in (tmp_path / 'one').glob('*.png')) == \
        sorted(p.name for p in (tmp_path / 'two').glob('*.png'))
    assert set(two['backend_wall']) == {'core', 'numpy'}


def children(pid: int) -> list[int]:
    path = Path(f'/proc/{pid}/task/{pid}/children')
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status = Path(f'/proc/{pid}/status')
        if not status.exists() or 'State:\tZ' in status.read_text():
            return True
        time.sleep(0.05)
    return False


def start(out: Path) -> subprocess.Popen:
    env = dict(os.environ, MPLBACKEND='Agg')
    return subprocess.Popen([sys.executable, '-m', 'd2l_optim', 'reproduce', *ARGS, '--jobs', '2',
                             '--out', str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def wait_for(proc: subprocess.Popen, out: Path, figures: int) -> list[int]:
    """Wait until ``figures`` PNGs exist and both workers run; their pids."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        workers = children(proc.pid)
        if len(workers) >= 2 and len(list(out.glob('*.png'))) >= figures:
            return workers
        time.sleep(0.02)
    pytest.fail('no workers or figures after 120 s')


@pytest.mark.skipif(not Path('/proc/self/task').exists(), reason='needs Linux /proc to find the workers')
@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_parallel_reproduce_stops_its_workers_cleanly(sig, tmp_path):
    out = tmp_path / 'out'
    proc = start(out)
    workers = wait_for(proc, out, 3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    lines = [x for x in err.splitlines() if x.strip()]
    assert proc.returncode == 130, err
    assert 'Traceback' not in err
    m = re.fullmatch(r'interrupted; (.+) holds (\d+) finished figures? and no report', lines[-1])
    assert m and m[1] == str(out), lines[-1]
    assert int(m[2]) == len(list(out.glob('*.png'))) >= 3       # the count is what the folder holds
    assert not list(out.glob('*.part')) and not (out / 'report.md').exists()
    assert all(gone(w, 5) for w in workers), workers


@pytest.mark.skipif(not Path('/proc/self/task').exists(), reason='needs Linux /proc to find the workers')
def test_workers_of_a_killed_parent_stop_by_themselves(tmp_path):
    out = tmp_path / 'out'
    proc = start(out)
    workers = wait_for(proc, out, 1)
    proc.kill()
    proc.communicate(timeout=60)
    # each stops at its next message, i.e. after the experiment it is in (seconds here)
    assert all(gone(w, 60) for w in workers), workers


def test_a_named_backend_that_is_not_installed_is_refused_before_any_work(tmp_path):
    from d2l_optim.backend import BACKENDS, BackendUnavailable, installed_backends, not_installed
    from d2l_optim.reproduce import reproduce
    absent = [b for b in BACKENDS if b not in installed_backends()]
    if not absent:
        pytest.skip('every framework is installed here (each environment lacks jax or mxnet)')
    assert not_installed('numpy') is None
    assert not_installed(absent[0]) == (f"backend {absent[0]!r} needs {absent[0]}, which is not "
                                        f'installed; install it with: {BACKENDS[absent[0]][1]}')
    with pytest.raises(BackendUnavailable, match=f'{absent[0]}: backend .* is not installed'):
        reproduce(['numpy', absent[0]], ['11.7'], tmp_path / 'out', jobs=2)
    assert not (tmp_path / 'out').exists()
