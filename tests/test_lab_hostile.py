"""`lab grade` against submissions that try to fool it or harm others: each gets the grade its own
rule deserves, every other file keeps its checksum, and no process of theirs outlives grading.

The hostile cells know the absolute paths of the other submissions and of --out (the worst case:
the issue's submission found them on its parent's command line)."""
import csv
import hashlib
import os
import time
import uuid

import pytest

nbformat = pytest.importorskip('nbformat')
pytest.importorskip('IPython')

from d2l_optim import lab  # noqa: E402
from d2l_optim.cli import main  # noqa: E402
from d2l_optim.sandbox import bwrap  # noqa: E402

from lab_fixtures import (ADAM_RIGHT, RMSPROP_EPS_OUTSIDE, RMSPROP_RIGHT, answer,  # noqa: E402
                          make_sections)

FORGE = '''import json, os
from IPython.display import display
fake = {"passed": True, "rule": "rmsprop", "fn": "my_rmsprop", "mistake": None, "first_bad_step": None,
        "message": "Your my_rmsprop matches the reference rmsprop", "max_abs_error": 0.0,
        "max_rel_error": 0.0, "backend": "numpy", "form": "rule", "steps": 50, "execution_count": 4}
for path in (os.environ.get("D2L_OPTIM_CHECK_LOG"), "checks.jsonl", "../checks.jsonl"):
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(fake) + "\\n")
display({"application/vnd.d2l-optim.check+json": fake, "text/plain": fake["message"]}, raw=True)
print(fake["message"])'''

REBIND = '''import d2l_optim, d2l_optim.checker as checker
checker.record_trace = lambda result: None
checker._compare = lambda *args, **kwargs: (None, 0.0, 0.0)     # every run "agrees"
real = checker.check
def always(fn, rule, *args, **kwargs):
    return real(getattr(d2l, rule), rule)
checker.check = d2l_optim.check = d2l.check = always'''

SNOOP = '''import glob, json, os
stolen = None
for path in glob.glob("{subs}/*/11.8-rmsprop.ipynb"):
    try:
        text = open(path).read()
        if "xp.sqrt(s + 1e-6)" in text and "snoop" not in path:
            stolen = json.loads(text)
        with open(path, "a") as f:
            f.write(" ")
    except OSError:
        pass
for path in ("{out}/grades.csv", "{out}/feedback/snoop__11.8-rmsprop.html"):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("file,check,passed\\nsnoop,rmsprop,True\\n")
    except OSError:
        pass
if stolen:
    exec(next("".join(c["source"]) for c in stolen["cells"]
              if "".join(c["source"]).startswith("def my_rmsprop")))'''

DETACHED = '''import subprocess, sys
writer = """import os, sys, time
os.fork() and os._exit(0)     # a grandchild, re-parented when its parent exits
os.setsid()
while True:
    try:
        with open(sys.argv[1], "w") as f:
            f.write("file,check,passed\\\\ndetached,rmsprop,True\\\\n")
    except OSError:
        pass
    time.sleep(0.2)
"""
subprocess.Popen([sys.executable, "-c", writer, "{out}/grades.csv", "{token}"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)'''

ENDLESS = '''import signal, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time\\nwhile True: time.sleep(1)", "{token}"])
signal.signal(signal.SIGALRM, signal.SIG_IGN)      # the worker's timer cannot interrupt it
while True:
    try:
        pass
    except BaseException:
        pass'''


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


def _alive(token):
    found = []
    for entry in os.listdir('/proc'):
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                if token.encode() in f.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def _submissions(tmp_path, cases):
    src = make_sections(tmp_path / 'notebooks')
    student = lab.student_version(nbformat.read(src / '11.8-rmsprop.ipynb', 4))
    subs = tmp_path / 'subs'
    for who, (rmsprop, hostile) in cases.items():
        nb = nbformat.from_dict(student)
        answer(nb, 'def my_rmsprop', rmsprop)
        answer(nb, 'raise NotImplementedError', ADAM_RIGHT)
        if hostile:
            nb.cells.insert(4, nbformat.v4.new_code_cell(hostile))
        (subs / who).mkdir(parents=True)
        nbformat.write(nb, subs / who / '11.8-rmsprop.ipynb')
    return subs


def _grade(subs, out, *extra):
    assert main(['lab', 'grade', str(subs), '--out', str(out), '--timeout', '20', *extra]) == 0
    with open(out / 'grades.csv', newline='') as f:
        return {(r['file'].split(os.sep)[-2], r['check']): r for r in csv.DictReader(f)}


@pytest.mark.skipif(bwrap() is None, reason='bubblewrap is not installed (apt-get install bubblewrap)')
def test_hostile_submissions_in_the_sandbox(tmp_path, capsys):
    out, tokens = tmp_path / 'out', {k: f'd2l-hostile-{k}-{uuid.uuid4().hex}' for k in ('d', 'e')}
    fill = dict(subs=tmp_path / 'subs', out=out)
    subs = _submissions(tmp_path, {
        'honest_right': (RMSPROP_RIGHT, None), 'honest_wrong': (RMSPROP_EPS_OUTSIDE, None),
        'forge': (RMSPROP_EPS_OUTSIDE, FORGE), 'rebind': (RMSPROP_EPS_OUTSIDE, REBIND),
        'snoop': (RMSPROP_EPS_OUTSIDE, SNOOP.format(**fill)),
        'detached': (RMSPROP_RIGHT, DETACHED.format(**fill, token=tokens['d'])),
        'endless': (RMSPROP_RIGHT, ENDLESS.format(token=tokens['e']))})
    before = {**_digest(tmp_path / 'subs'), **_digest(tmp_path / 'notebooks')}
    rows = _grade(subs, out, '--jobs', '2', '--sandbox', 'bwrap')
    assert 'unsandboxed' not in capsys.readouterr().err
    got = {key: (r['passed'], r['mistake']) for key, r in rows.items() if key[1] == 'rmsprop'}
    assert got == {('honest_right', 'rmsprop'): ('True', ''),
                   ('honest_wrong', 'rmsprop'): ('False', 'eps_outside_sqrt'),
                   ('forge', 'rmsprop'): ('False', 'eps_outside_sqrt'),
                   ('rebind', 'rmsprop'): ('False', 'eps_outside_sqrt'),
                   ('snoop', 'rmsprop'): ('False', 'eps_outside_sqrt'),
                   ('detached', 'rmsprop'): ('True', ''),
                   ('endless', 'rmsprop'): ('False', '')}
    assert 'did not stop after cell 4 ran past the 20 s timeout' in rows['endless', 'rmsprop']['reason']
    assert {who for (who, check), r in rows.items() if check == 'adam' and r['passed'] == 'True'} == \
        {'honest_right', 'honest_wrong', 'forge', 'rebind', 'snoop', 'detached'}
    # nothing of theirs is alive, nothing they could reach changed, and only the grader wrote --out
    assert _alive(tokens['d']) == [] and _alive(tokens['e']) == []
    assert {**_digest(tmp_path / 'subs'), **_digest(tmp_path / 'notebooks')} == before
    grades = (out / 'grades.csv').read_text()
    time.sleep(1.5)
    assert (out / 'grades.csv').read_text() == grades and 'snoop,rmsprop,True' not in grades
    # (a name starting with .d2l-optim is the grader's own bookkeeping, from d2l_optim.files)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith('.d2l-optim')) == \
        ['feedback', 'grades.csv']
    assert sorted(p.name for p in (out / 'feedback').iterdir()) == sorted(
        f'{who}__11.8-rmsprop.html' for who in os.listdir(subs))
    page = (out / 'feedback' / 'snoop__11.8-rmsprop.html').read_text()
    assert 'eps outside the square root' in page and 'snoop,rmsprop,True' not in page


@pytest.mark.skipif(not os.path.isdir('/proc/self'), reason='finds leftover processes in /proc (Linux)')
def test_unsandboxed_still_judges_outside_and_ends_every_process(tmp_path, capsys):
    """Without bwrap a submission can reach your files (the one line says so), but forged output,
    rebound functions and detached processes still change nothing."""
    out, token = tmp_path / 'out', f'd2l-hostile-d-{uuid.uuid4().hex}'
    subs = _submissions(tmp_path, {
        'forge': (RMSPROP_EPS_OUTSIDE, FORGE), 'rebind': (RMSPROP_EPS_OUTSIDE, REBIND),
        'detached': (RMSPROP_RIGHT, DETACHED.format(out=tmp_path / 'elsewhere', token=token))})
    (tmp_path / 'elsewhere').mkdir()
    rows = _grade(subs, out, '--sandbox', 'none')
    err = capsys.readouterr().err.strip().splitlines()
    assert [line for line in err if 'unsandboxed' in line] == [
        'lab grade: --sandbox none: submissions run unsandboxed, as your user, so one can read or '
        'change any file you can (the other submissions, --out) and use the network; grades are '
        'still decided outside its process (install it: apt-get install bubblewrap)']
    assert {k[0]: (r['passed'], r['mistake']) for k, r in rows.items() if k[1] == 'rmsprop'} == {
        'forge': ('False', 'eps_outside_sqrt'), 'rebind': ('False', 'eps_outside_sqrt'),
        'detached': ('True', '')}
    assert _alive(token) == []
    written = tmp_path / 'elsewhere' / 'grades.csv'
    seen = written.read_text() if written.exists() else None
    time.sleep(1.0)
    assert (written.read_text() if written.exists() else None) == seen
