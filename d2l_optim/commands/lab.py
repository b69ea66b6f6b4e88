"""``d2l-optim lab build|grade``: labs from the sections, and grading out of the submissions' reach.

``lab build --out DIR [--sections 11.4,...] [--validate]`` writes ``DIR/solution/``
(the section notebooks as they are), ``DIR/student/`` (solutions removed, see
:mod:`d2l_optim.lab`) and ``DIR/README.md`` for the teacher; ``--validate`` then
grades both and fails (exit 1) if a solution misses a check or a student
version passes one. ``--format nbgrader`` and ``--format otter`` write the sources
those tools take instead (:mod:`d2l_optim.commands.lab_build`).

``lab build --lang zh|ja`` builds from the notebooks in that language (``notebooks/zh/``,
``notebooks/ja/``), writes the README in it and records it in the student notebooks, so that
``lab grade`` gives its feedback in it (``lab grade --lang`` overrides that).

``lab grade SUBMISSIONS... --out DIR`` grades each notebook (:mod:`d2l_optim.grading`:
its own sandboxed process, the verdict computed here) and writes ``DIR/grades.csv``
(rewritten after every submission, so an interrupted run keeps the rows finished
so far) and ``DIR/feedback/<name>.html``.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..backend import BACKENDS
from .. import files
from ..files import atomic_write
from ..i18n import LANGUAGES, gettext, language, language_code
from .lab_build import STUDENT_README
from .lab_grade import grade

FORMATS = ('student', 'nbgrader', 'otter')

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
                   help='execute both versions: solutions must pass every check, students none '
                        '(--format student only)')
    b.add_argument('--format', default='student', choices=FORMATS,
                   help='student: solution/ and student/ folders for `lab grade`; nbgrader: a course '
                        'folder (source/ASSIGNMENT/, nbgrader_config.py); otter: otter-assign '
                        'notebooks (default: student)')
    b.add_argument('--points', type=float, default=1.0,
                   help="points per check for nbgrader and otter (a check cell's '# points: N' "
                        "comment overrides it; default: 1)")
    b.add_argument('--assignment', default='lab',
                   help='the nbgrader assignment name (default: lab)')
    b.add_argument('--force', action='store_true',
                   help='overwrite lab files that were edited since the last build (default: refuse, naming them)')
    b.add_argument('--lang', default='en',
                   help=f"the lab's language, {', '.join(LANGUAGES)}: the notebooks come from the "
                        f"folder's zh/ or ja/ (if it has one), the README and the feedback are in it "
                        f"(default: en)")
    _run_options(b)
    g = sub.add_parser('grade', help='execute submitted notebooks, write grades.csv and feedback/',
                       description='execute submitted notebooks, write grades.csv and feedback/')
    g.add_argument('submissions', nargs='+', help='notebooks, or folders searched for *.ipynb')
    g.add_argument('--out', required=True, help='folder for grades.csv and feedback/')
    g.add_argument('--jobs', type=int, default=1,
                   help='notebooks run at once, one process each (default: 1)')
    g.add_argument('--sandbox', default='auto', choices=('auto', 'bwrap', 'none'),
                   help='run each submission under bubblewrap: auto (when installed), bwrap '
                        '(required), none (default: auto)')
    g.add_argument('--lang', default=None,
                   help=f"the language of the check messages and feedback, {', '.join(LANGUAGES)} "
                        f"(default: the one `lab build --lang` recorded in each notebook, else "
                        f"$D2L_OPTIM_LANG or the locale)")
    _run_options(g)


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument('--timeout', type=int, default=60, help='seconds per cell (default: 60)')
    p.add_argument('--backend', default='numpy', help=f"BACKEND for the notebooks: {', '.join(BACKENDS)}")


def main(args: argparse.Namespace) -> int:
    if args.lab_command is None:
        raise ValueError("say what to do: d2l-optim lab build --out DIR, or d2l-optim lab grade "
                         "SUBMISSIONS... --out DIR")
    if getattr(args, 'lang', None) is not None:
        args.lang = language_code(args.lang, '--lang')
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    if args.backend not in BACKENDS:
        raise ValueError(f"unknown backend {args.backend!r}; choose one of: {', '.join(BACKENDS)}")
    if args.backend != 'numpy' and (args.lab_command == 'grade' or getattr(args, 'validate', False)):
        raise ValueError(f"--backend {args.backend}: grading judges on numpy (the grader hands the "
                         f"learner's functions NumPy arrays); use --backend numpy")
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as e:
        raise ValueError(f"the lab commands need nbformat, nbclient and ipykernel ({e.name} is "
                         f"missing); install them with: pip install \"d2l-optim[lab]\"") from None
    return build(args) if args.lab_command == 'build' else grade(args)


# ---------------------------------------------------------------- build

def _source_folder(arg: str | None, lang: str = 'en') -> Path:
    """The notebooks' folder; for --lang zh|ja its zh/ or ja/ (this checkout's notebooks/ja/),
    or, when it has none, the folder itself (a teacher's own folder of Japanese notebooks)."""
    folder = Path(arg) if arg else Path(__file__).resolve().parents[2] / 'notebooks'
    if not folder.is_dir():
        raise ValueError(f"no notebook folder at {folder}; pass --notebooks DIR")
    if lang != 'en':
        if (folder / lang).is_dir():
            return folder / lang
        if not arg:
            raise ValueError(f"no {lang} notebooks at {folder / lang}; pass --notebooks DIR "
                             f"(a folder of notebooks in that language)")
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

    from ..lab import LabError, has_solutions, read_notebook, set_notebook_language, student_version
    if args.format != 'student' and args.validate:
        raise ValueError(f"--validate runs the student format; with --format {args.format} use the "
                         f"tool's own run (see the README the build writes)")
    if args.points < 0 or args.points != args.points:
        raise ValueError(f"--points must be a number >= 0, got {args.points}")
    if not re.fullmatch(r'[\w.-]+', args.assignment):
        raise ValueError(f"--assignment must be a folder name (letters, digits, . _ -), "
                         f"got {args.assignment!r}")
    lang = getattr(args, 'lang', None) or 'en'
    books = _select(_source_folder(args.notebooks, lang), args.sections)
    out = Path(args.out)
    force = getattr(args, 'force', False)
    _refuse_edited_lab(out, [out / v / p.name for p in books for v in ('solution', 'student')]
                       + [out / 'README.md'] if args.format == 'student' else [], force)
    if args.format != 'student':
        from .lab_build import build_for_tool
        with language(lang):
            return build_for_tool(args.format, books, out, args.points, args.assignment)
    versions = []
    for path in books:             # every notebook read and stripped before any file is written
        nb, problem = read_notebook(path)
        if nb is None:
            raise ValueError(f"{path} {problem}")
        try:
            student = student_version(nb, path.name)
        except LabError as e:
            raise ValueError(str(e)) from None
        if lang != 'en':           # lab grade gives this lab's feedback in its language
            set_notebook_language(student, lang)
        versions.append((path, nb, student))
    if not any(has_solutions(nb) for _, nb, _ in versions):
        folder = books[0].parent
        raise ValueError(f"--notebooks {folder}: none of its {len(books)} notebook(s) holds a solution "
                         f"(a student/ folder?); build from the notebooks with solutions, e.g. "
                         f"{folder.parent / 'solution'}")
    written = []
    for path, nb, student in versions:
        with atomic_write(out / 'solution' / path.name, user_named=force) as f:
            f.write(path.read_text(encoding='utf-8'))
        with atomic_write(out / 'student' / path.name, user_named=force) as f:
            nbformat.write(student, f)
        written.append((path.name, has_solutions(nb)))
    sections = ', '.join(name.split('-')[0] for name, _ in written)
    with language(lang), atomic_write(out / 'README.md', user_named=force) as f:
        f.write(gettext(STUDENT_README).format(sections=sections))
    with_answers = sum(has for _, has in written)
    print(f"wrote {len(written)} notebooks ({with_answers} with solutions to remove) to "
          f"{out / 'solution'} and {out / 'student'}, and {out / 'README.md'}")
    if args.validate:
        return validate(out, [name for name, _ in written], args.timeout, args.backend, lang)
    return 0


def _refuse_edited_lab(out: Path, targets: list[Path], force: bool) -> None:
    """A lab folder whose files were edited since we wrote them (or that holds files of the
    same names we did not write) is refused, naming them, unless ``--force``."""
    edited = [p for p in files.changed(out) if p.exists()]
    edited += [p for p in targets if p.exists() and not files.owned(p) and p not in edited]
    if edited and not force:
        names = ', '.join(str(p.relative_to(out)) for p in edited[:5]) + (', ...' if len(edited) > 5 else '')
        raise ValueError(f"--out {out}: {len(edited)} file(s) there changed since d2l-optim wrote them, or "
                         f"are not its own ({names}); a rebuild would overwrite them: move them away, "
                         f"choose another --out, or pass --force")


def validate(out: Path, names: list[str], timeout: int, backend: str, lang: str = 'en') -> int:
    """Solutions must pass every check; student versions must pass none (exit 1 otherwise)."""
    from ..grading import NO_CHECK, default_setting, grade_notebook
    setting = default_setting([out])
    failures = []
    for name in names:
        for version, want in (('solution', True), ('student', False)):
            graded = grade_notebook(out / version / name, timeout, backend, f"{version}/{name}",
                                    setting=setting, lang=lang)
            checks = [r for r in graded.rows if r.check]
            if not checks:
                with language(graded.lang):
                    no_check = gettext(NO_CHECK)
                if version == 'solution' and graded.rows and graded.rows[0].reason != no_check:
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
