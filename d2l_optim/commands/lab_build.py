"""``lab build --format nbgrader|otter``: the section notebooks as the grading tools' sources.

See :mod:`d2l_optim.lab_formats` for what is added to each notebook; this module
writes the folders and the teacher's README (in the lab's language: the templates below are
marked with ``N_`` and translated where they are written).
"""
from __future__ import annotations

from pathlib import Path

from ..files import atomic_write
from ..i18n import N_, gettext

STUDENT_README = N_("""# Lab: {sections}

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

    d2l-optim lab grade submissions/ --out grades/ [--timeout 60] [--jobs 2]

Each notebook runs in a process of its own, from a fresh temporary copy, with a scrubbed
environment, each cell limited to `--timeout` seconds (an endless loop is interrupted and
recorded; one that will not stop is ended with every process it started), and only through
its last cell whose code calls `check(`: the cells after it (plots, other backends, exercises)
cannot change a grade, so they are not run. `--jobs 2` runs two notebooks at once.

The grade is decided outside the submission's process. Right after a cell calling
`check(my_rule, 'rmsprop')` ran, the grader runs `check` in its own process on a stand-in for
`my_rule`: the student's function only receives each step's arguments and hands back numbers;
the reference rule and the tolerance never enter the student's process. What a notebook prints,
displays or logs is never read, so a forged result, a replaced `check` or a leftover process
changes nothing. Write the rule as a string and other options (`steps=`, `hyperparams=`) as
literals in the check call, so that the grader can read them.

With bubblewrap installed (Linux: `apt-get install bubblewrap`; it needs no root where
unprivileged user namespaces are on, as on Debian and Ubuntu), each submission runs sandboxed:
it sees its own copy, the data file and the Python environment read-only, has no network, and
cannot see the other submissions, `--out` or your home; when its grading ends every process it
started is gone. The sandbox does not limit memory or CPU time beyond the timeouts, and does not
stop a student from submitting someone else's code. Without bubblewrap (macOS, Windows)
`lab grade` says so in one line: a submission then runs as you and could read or change any file
you can, including the other submissions and `--out`; its grade is still decided outside it,
and its leftover processes are still ended (Linux).

`grades/grades.csv` has one row per submission and check: `file, check, passed, mistake,
first_bad_step, reason, cell, message`. `mistake` names a known mistake (`eps_outside_sqrt`,
`t_not_advanced`, ...); `reason` says why a check has no result (the function is not defined,
the notebook's process died, the file is not a notebook) or what else went wrong (a cell
interrupted at the timeout); `message` is the check's message. `grades/feedback/<student>__<notebook>.html`
shows each check's message next to the student's code; hand those back. Only the grader writes
these files. The CSV is rewritten after every submission, so an interrupted run keeps every row
it finished; run it again to redo the rest.

## Check the lab itself

    d2l-optim lab build --out lab/ --validate

executes both folders and exits 1, naming the notebook and check, if a solution does not
pass all its checks or a student notebook passes any (nbgrader's `validate --invert`).

## With nbgrader or otter-grader

Build for the tool you use: `d2l-optim lab build --format nbgrader --out course/` writes an
nbgrader course folder (`source/<assignment>/`, `nbgrader_config.py`), `--format otter` writes
otter-assign notebooks; each writes a README saying which commands to run. There every check is
a test cell calling `check(..., strict=True)`, which raises `AssertionError` with the check's
message when the rule is wrong. Those tools run a submission's code in the same process as its
tests, as your user: use `lab grade` when grades must be beyond a submission's reach.
""")

NBGRADER_README = N_("""# Lab {assignment}: {sections}, for nbgrader

Built by `d2l-optim lab build --format nbgrader`. This folder is an nbgrader course:
`nbgrader_config.py` and `source/{assignment}/` (the section notebooks with the answers and
nbgrader's cell metadata). Each "your turn" cell is an autograded answer; each cell that calls
`d2l.check(...)` is a locked autograder test worth {points:g} point(s) per check (a `# points: N`
comment in the cell overrides it). The test calls `check(..., strict=True)`: a wrong rule raises
`AssertionError` whose text is the check's message (the named mistake), which nbgrader's feedback
shows. Written answers (cells tagged `solution`) are manually graded answers worth 0 points:
students get "YOUR ANSWER HERE" and the score does not depend on them.

Run nbgrader from this folder (nbgrader 0.9.6 tested):

    nbgrader generate_assignment {assignment}       # release/{assignment}/: answers removed
    # collect submissions as submitted/<student>/{assignment}/<notebook>.ipynb, then
    nbgrader autograde {assignment}
    nbgrader generate_feedback {assignment}
    nbgrader export                                  # grades.csv

The grading kernel needs `pip install "d2l-optim[lab]"` and the airfoil data file
(`airfoil_self_noise.dat`) in `$D2L_OPTIM_DATA_DIR`; without it `check` runs its seeded steps only.
nbgrader runs each submission in a kernel of the teacher's machine, as the teacher's user:
a submission can read and write what that user can. For grades decided outside the
submission's reach, use `d2l-optim lab build` (student format) and `d2l-optim lab grade`.
""")

OTTER_README = N_("""# Lab: {sections}, for otter-grader

Built by `d2l-optim lab build --format otter`: one otter-assign source notebook per section
(format v1: a `# ASSIGNMENT CONFIG` raw cell, then per check a `# BEGIN QUESTION` block with the
answer cells as its `# BEGIN SOLUTION` block and the checks as its `# BEGIN TESTS` block), with
`requirements.txt`{data_note}. Each test is `_ = d2l.check(fn, 'rule', strict=True)` worth
{points:g} point(s) per check: a wrong rule fails it with the check's message, and a student's
`grader.check("check-my_rmsprop")` shows the named mistake.

Make the student and autograder versions (otter-grader 7.0.0 tested), per notebook:

    otter assign 11.8-rmsprop.ipynb dist/11.8        # dist/11.8/student/: no answer lines
    otter run -a dist/11.8/autograder/*.zip submission.ipynb    # grades one submission here
    otter grade ...                                  # (needs Docker) grades a folder

`otter run` grades in the teacher's own Python environment and user account: a submission
can read and write what that user can. For grades decided outside the submission's reach, use
`d2l-optim lab build` (student format) and `d2l-optim lab grade`.
""")


def build_for_tool(fmt: str, books: list[Path], out: Path, points: float, assignment: str) -> int:
    """Write the nbgrader course folder or the otter-assign notebooks for ``books``."""
    import nbformat

    from ..lab import LabError, read_notebook
    from ..lab_formats import NBGRADER_CONFIG, nbgrader_notebook, otter_notebook
    data = None
    if fmt == 'otter':
        from ..data import find_local
        data = find_local('airfoil')
    made = []
    for path in books:
        nb, problem = read_notebook(path)
        if nb is None:
            raise ValueError(f"{path} {problem}")
        try:
            if fmt == 'nbgrader':
                made.append((out / 'source' / assignment / path.name,
                             nbgrader_notebook(nb, path.name, points)))
            else:
                files = (data.name,) if data is not None else ()
                made.append((out / path.name, otter_notebook(nb, path.stem, points, files)))
        except LabError as e:
            raise ValueError(str(e)) from None
    for target, nb in made:
        with atomic_write(target) as f:
            nbformat.write(nb, f)
    sections = ', '.join(p.name.split('-')[0] for p in books)
    if fmt == 'nbgrader':
        with atomic_write(out / 'nbgrader_config.py') as f:
            f.write(NBGRADER_CONFIG.format(assignment=assignment, timeout=600))
        readme = gettext(NBGRADER_README).format(assignment=assignment, sections=sections, points=points)
    else:
        with atomic_write(out / 'requirements.txt') as f:
            f.write('d2l-optim[lab]\n')
        if data is not None:
            with atomic_write(out / data.name, 'wb') as f:
                f.write(data.read_bytes())
        note = (gettext(' and the airfoil data file `{name}` (listed under `files:`)').format(name=data.name)
                if data is not None else
                gettext(' (the airfoil data file was not found on this machine: put it in '
                        '$D2L_OPTIM_DATA_DIR and build again to include it)'))
        readme = gettext(OTTER_README).format(sections=sections, points=points, data_note=note)
    with atomic_write(out / 'README.md') as f:
        f.write(readme)
    where = out / 'source' / assignment if fmt == 'nbgrader' else out
    print(f"wrote {len(made)} {fmt} notebook(s) to {where}, and {out / 'README.md'}")
    return 0

