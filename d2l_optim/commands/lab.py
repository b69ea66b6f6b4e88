"""``d2l-optim lab build|grade``: student notebooks from the sections, and offline grading.

``lab build --out DIR [--sections 11.4,...] [--validate]`` writes ``DIR/solution/``
(the section notebooks as they are), ``DIR/student/`` (solutions removed, see
:mod:`d2l_optim.lab`) and ``DIR/README.md`` for the teacher; ``--validate`` then
executes both and fails (exit 1) if a solution misses a check or a student
version passes one.

``lab grade SUBMISSIONS... --out DIR`` executes each notebook headless, through
its last cell that calls ``check(``, and writes ``DIR/grades.csv`` (rewritten after
every submission, so an interrupted run keeps the rows finished so far) and
``DIR/feedback/<name>.html``.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

from ..backend import BACKENDS
from ..files import atomic_write

README = """# Lab: {sections}

Built by `d2l-optim lab build` from the d2l-optim section notebooks.

* `solution/` holds the notebooks as they are, with the answers. Keep it to yourself.
* `student/` holds the same notebooks with every answer removed: the code between
  `# BEGIN SOLUTION` and `# END SOLUTION` is now `raise NotImplementedError("your code here")`,
  a line marked `# SOLUTION` keeps only `name = ...`, and cells tagged `solution` are empty.
  Each "your turn" cell is followed by a `d2l.check(my_rule, 'rmsprop')` cell that tells the
  student whether the rule is right and, if not, which known mistake it matches.

## Hand out

Give students the `student/` folder. They need `pip install "d2l-optim[lab]"` (and the
airfoil data file, `airfoil_self_noise.dat`, in `$D2L_OPTIM_DATA_DIR`; without it `check`
runs its seeded steps only). They edit the notebooks and run the check cells as they go.

## Collect

One folder per student, the notebooks inside with their names unchanged:

    submissions/alice/11.8-rmsprop.ipynb
    submissions/bob/11.8-rmsprop.ipynb

## Grade

    d2l-optim lab grade submissions/ --out grades/ [--timeout 60] [--backend numpy]

Every notebook runs in its own fresh kernel, each cell limited to `--timeout` seconds
(an endless loop is interrupted and recorded), and only through its last cell whose code
calls `check(`: the cells after it (plots, other backends, exercises) cannot change a
grade, so they are not run, and a notebook takes seconds instead of a minute. (A check
reached only through a helper called after that cell is therefore not run either.)
`--jobs 2` runs two notebooks at once. `grades/grades.csv` has one row per
submission and check: `file, check, passed, mistake, first_bad_step, reason, cell, message`.
`mistake` names a known mistake (`eps_outside_sqrt`, `t_not_advanced`, ...); `reason`
says why a check has no result (the cell raised, the kernel died, the file is not a
notebook) or what else went wrong (a cell interrupted at the timeout); `message` is what
the student saw. `grades/feedback/<student>__<notebook>.html` shows each check's message next
to the student's code; hand those back. The CSV is rewritten after every submission, so
an interrupted run keeps every row it finished; run it again to redo the rest.

Grading trusts the student's kernel: the check results are written by code running in
the same process as the student's, so a notebook can forge them (print a passing line,
replace `check`); for high-stakes grades, re-run the checks in a clean process on the
student's functions rather than trusting the notebook's own report.

## Check the lab itself

    d2l-optim lab build --out lab/ --validate

executes both folders and exits 1, naming the notebook and check, if a solution does not
pass all its checks or a student notebook passes any (nbgrader's `validate --invert`).

## With nbgrader or otter-grader

The markers are the single-`#` ones both tools accept, so `solution/` can be used as their
source notebooks as it is. `check` writes each result, as JSON, both into the cell's output
(MIME type `application/vnd.d2l-optim.check+json`) and, when `$D2L_OPTIM_CHECK_LOG` names a
file, as one line appended to that file; a test cell can read either.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest='lab_command', metavar='ACTION', parser_class=type(p))
    b = sub.add_parser('build', help='solution/ and student/ notebooks and a README for the teacher',
                       description='solution/ and student/ notebooks and a README for the teacher')
    b.add_argument('--out', required=True, help='folder to write solution/, student/, README.md')
    b.add_argument('--sections', default=None,
                   help='comma-separated sections, e.g. 11.8,11.10 (default: every notebook)')
    b.add_argument('--notebooks', default=None,
                   help="folder of section notebooks (default: this checkout's notebooks/)")
    b.add_argument('--validate', action='store_true',
                   help='execute both versions: solutions must pass every check, students none')
    _run_options(b)
    g = sub.add_parser('grade', help='execute submitted notebooks, write grades.csv and feedback/',
                       description='execute submitted notebooks, write grades.csv and feedback/')
    g.add_argument('submissions', nargs='+', help='notebooks, or folders searched for *.ipynb')
    g.add_argument('--out', required=True, help='folder for grades.csv and feedback/')
    g.add_argument('--jobs', type=int, default=1,
                   help='notebooks run at once, one kernel each (default: 1)')
    _run_options(g)


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument('--timeout', type=int, default=60, help='seconds per cell (default: 60)')
    p.add_argument('--backend', default='numpy', help=f"BACKEND for the notebooks: {', '.join(BACKENDS)}")


def main(args: argparse.Namespace) -> int:
    if args.lab_command is None:
        raise ValueError("say what to do: d2l-optim lab build --out DIR, or d2l-optim lab grade "
                         "SUBMISSIONS... --out DIR")
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    if args.backend not in BACKENDS:
        raise ValueError(f"unknown backend {args.backend!r}; choose one of: {', '.join(BACKENDS)}")
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as e:
        raise ValueError(f"the lab commands need nbformat, nbclient and ipykernel ({e.name} is "
                         f"missing); install them with: pip install \"d2l-optim[lab]\"") from None
    return build(args) if args.lab_command == 'build' else grade(args)


# ---------------------------------------------------------------- build

def _source_folder(arg: str | None) -> Path:
    folder = Path(arg) if arg else Path(__file__).resolve().parents[2] / 'notebooks'
    if not folder.is_dir():
        raise ValueError(f"no notebook folder at {folder}; pass --notebooks DIR")
    return folder


def _select(folder: Path, sections: str | None) -> list[Path]:
    books = sorted((p for p in folder.glob('*.ipynb') if not p.name.startswith(('_', '.'))),
                   key=lambda p: [(0, int(x), '') if x.isdigit() else (1, 0, x)
                                  for x in p.stem.split('-')[0].split('.')])
    if not books:
        raise ValueError(f"no notebooks in {folder}")
    if not sections:
        return books
    chosen = []
    for sec in (s.strip() for s in sections.split(',') if s.strip()):
        match = [p for p in books if p.stem == sec or p.stem.startswith(sec + '-')]
        if not match:
            names = ', '.join(p.stem.split('-')[0] for p in books)
            raise ValueError(f"no notebook for section {sec!r} in {folder}; there are: {names}")
        chosen.extend(m for m in match if m not in chosen)
    return chosen


def build(args: argparse.Namespace) -> int:
    import nbformat

    from ..lab import LabError, has_solutions, read_notebook, student_version
    books = _select(_source_folder(args.notebooks), args.sections)
    out = Path(args.out)
    written = []
    for path in books:
        nb, problem = read_notebook(path)
        if nb is None:
            raise ValueError(f"{path} {problem}")
        try:
            student = student_version(nb, path.name)
        except LabError as e:
            raise ValueError(str(e)) from None
        with atomic_write(out / 'solution' / path.name) as f:
            f.write(path.read_text(encoding='utf-8'))
        with atomic_write(out / 'student' / path.name) as f:
            nbformat.write(student, f)
        written.append((path.name, has_solutions(nb)))
    sections = ', '.join(name.split('-')[0] for name, _ in written)
    with atomic_write(out / 'README.md') as f:
        f.write(README.format(sections=sections))
    with_answers = sum(has for _, has in written)
    print(f"wrote {len(written)} notebooks ({with_answers} with solutions to remove) to "
          f"{out / 'solution'} and {out / 'student'}, and {out / 'README.md'}")
    if args.validate:
        return validate(out, [name for name, _ in written], args.timeout, args.backend)
    return 0


def validate(out: Path, names: list[str], timeout: int, backend: str) -> int:
    """Solutions must pass every check; student versions must pass none (exit 1 otherwise)."""
    from ..lab import grade_notebook
    failures = []
    for name in names:
        for version, want in (('solution', True), ('student', False)):
            graded = grade_notebook(out / version / name, timeout, backend, f"{version}/{name}")
            checks = [r for r in graded.rows if r.check]
            if not checks:
                if version == 'solution' and graded.rows and 'no d2l.check' not in graded.rows[0].reason:
                    failures.append(f"{version}/{name}: {graded.rows[0].reason}")
                continue
            for row in checks:
                if row.passed != want:
                    why = (row.message or row.reason).split('\n')[0]
                    verb = 'does not pass' if want else 'passes without the solution'
                    failures.append(f"{version}/{name}: check {row.check} {verb}: {why}")
            print(f"{version}/{name}: {sum(r.passed for r in checks)}/{len(checks)} checks passed "
                  f"({graded.seconds:.1f} s)")
    for failure in failures:
        print(f"d2l-optim lab build: invalid: {failure}", file=sys.stderr)
    if failures:
        return 1
    print('lab valid: every solution passes all its checks, no student notebook passes any')
    return 0


# ---------------------------------------------------------------- grade

def _csv_text(rows) -> str:
    from ..lab import CheckRow
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CheckRow.CSV_FIELDS, lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow(row.csv())
    return buf.getvalue()


def grade(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from ..lab import feedback_html, feedback_name, find_notebooks, grade_notebook
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    books = find_notebooks(args.submissions)
    if not books:
        raise ValueError(f"no .ipynb files in {', '.join(args.submissions)}")
    out = Path(args.out)
    dirs = [str(p.resolve().parent) for p in books]
    root = Path(os.path.commonpath(dirs)) if len(books) > 1 else books[0].resolve().parent
    done: dict[int, list] = {}
    started = time.perf_counter()

    def finish(index: int, graded) -> None:
        done[index] = graded.rows
        rows = [row for i in sorted(done) for row in done[i]]     # submission order
        with atomic_write(out / 'grades.csv') as f:       # after each submission: kept on Ctrl-C
            f.write(_csv_text(rows))
        with atomic_write(out / 'feedback' / feedback_name(graded.path, root)) as f:
            f.write(feedback_html(graded))
        checks = [r for r in graded.rows if r.check]
        summary = f"{sum(r.passed for r in checks)}/{len(checks)} checks passed" if checks \
            else graded.rows[0].reason
        print(f"{graded.path}: {summary} ({graded.seconds:.1f} s)", flush=True)

    if args.jobs == 1:
        for index, path in enumerate(books):
            finish(index, grade_notebook(path, args.timeout, args.backend, str(path)))
    else:
        pool = ThreadPoolExecutor(args.jobs)
        try:
            futures = {pool.submit(grade_notebook, path, args.timeout, args.backend, str(path)): i
                       for i, path in enumerate(books)}
            for future in as_completed(futures):
                finish(futures[future], future.result())
        finally:        # on Ctrl-C: no new notebooks; running ones end within their timeout
            pool.shutdown(wait=True, cancel_futures=True)
    total = time.perf_counter() - started
    print(f"graded {len(books)} submission(s) in {total:.1f} s: {out / 'grades.csv'}, "
          f"{out / 'feedback'}")
    return 0
