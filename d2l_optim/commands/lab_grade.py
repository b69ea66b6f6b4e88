"""``d2l-optim lab grade SUBMISSIONS... --out DIR``: each notebook graded by
:mod:`d2l_optim.grading` (its own sandboxed process, the verdict computed here), written to
``DIR/grades.csv`` after every submission (an interrupted run keeps the rows finished so far;
a rerun keeps earlier rows and replaces only those graded again) and ``DIR/feedback/<name>.html``.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

from .. import files
from ..files import atomic_write


def _csv_text(rows) -> str:
    """grades.csv: rows graded now (CheckRow) and earlier rows kept as read (dicts)."""
    from ..grading import CheckRow
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CheckRow.CSV_FIELDS, lineterminator='\n', extrasaction='ignore')
    writer.writeheader()
    for row in rows:
        writer.writerow(row if isinstance(row, dict) else row.csv())
    return buf.getvalue()


def _earlier_rows(path: Path) -> list[dict]:
    """The rows of an earlier ``lab grade`` into the same folder (a file it wrote, unchanged)."""
    files.check_replaceable(path)       # a grades.csv of the user's: refused before any grading
    if not path.is_file():
        return []
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.DictReader(f))


def grade(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from .. import grading
    from ..feedback import feedback_html
    from ..lab import feedback_name, find_notebooks
    from ..lab_judge import LIVE, SPAWN
    from ..sandbox import UNSANDBOXED, Reaper
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    books = find_notebooks(args.submissions)
    if not books:
        raise ValueError(f"no .ipynb files in {', '.join(args.submissions)}")
    out = Path(args.out)
    dirs = [str(p.resolve().parent) for p in books]
    root = Path(os.path.commonpath(dirs)) if len(books) > 1 else books[0].resolve().parent
    setting = grading.default_setting([out, root, *map(Path, args.submissions)], args.sandbox)
    if not setting.sandbox:
        why = '--sandbox none' if args.sandbox == 'none' else 'bubblewrap (bwrap) not found'
        print(UNSANDBOXED.format(why=why), file=sys.stderr, flush=True)
    labels = {str(path) for path in books}
    earlier = _earlier_rows(out / 'grades.csv')       # a rerun adds to them: "run it again to redo the rest"
    kept = [r for r in earlier if r.get('file') not in labels]
    regraded = {r.get('file') for r in earlier} & labels
    done: dict[int, list] = {}
    started = time.perf_counter()

    def finish(index: int, graded) -> None:
        with SPAWN:                 # processes a submission left behind (re-parented to us)
            reaper.sweep(set(LIVE))
        done[index] = graded.rows
        rows = kept + [row for i in sorted(done) for row in done[i]]     # submission order
        with atomic_write(out / 'grades.csv') as f:       # after each submission: kept on Ctrl-C
            f.write(_csv_text(rows))
        with atomic_write(out / 'feedback' / feedback_name(graded.path, root)) as f:
            f.write(feedback_html(graded))
        checks = [r for r in graded.rows if r.check]
        summary = f"{sum(r.passed for r in checks)}/{len(checks)} checks passed" if checks \
            else graded.rows[0].reason
        print(f"{graded.path}: {summary} ({graded.seconds:.1f} s)", flush=True)

    def one(path: Path):
        return grading.grade_notebook(path, args.timeout, args.backend, str(path), setting=setting,
                                      lang=getattr(args, 'lang', None))

    def holds() -> str:
        graded = sum(len(r) for r in done.values())
        return (f"{out / 'grades.csv'} holds {len(kept) + graded} rows: {graded} of the {len(done)} "
                f"submission(s) graded now, {len(kept)} kept from before; feedback/ the same")

    from ..interrupts import describe_kept
    with Reaper() as reaper, describe_kept(holds):
        if args.jobs == 1:
            for index, path in enumerate(books):
                finish(index, one(path))
        else:
            pool = ThreadPoolExecutor(args.jobs)
            try:
                futures = {pool.submit(one, path): i for i, path in enumerate(books)}
                for future in as_completed(futures):
                    finish(futures[future], future.result())
            finally:        # on Ctrl-C: no new notebooks; running ones end within their timeout
                pool.shutdown(wait=True, cancel_futures=True)
    total = time.perf_counter() - started
    where = 'sandboxed with bubblewrap' if setting.sandbox else 'unsandboxed'
    print(f"graded {len(books)} submission(s) in {total:.1f} s ({where}, --jobs {args.jobs}): "
          f"{out / 'grades.csv'}, {out / 'feedback'}")
    if earlier:
        print(f"kept {len(kept)} row(s) of {len({r.get('file') for r in kept})} submission(s) graded "
              f"before; replaced the rows of {len(regraded)} submission(s) graded again")
    return 0
