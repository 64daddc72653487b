"""Scale of the views: `report`, the sweep diagnosis and `trials --epochs --format csv` on a
synthetic SQLite study of 1 000 trials x 200 epochs (200 000 epoch rows).

    .venv/bin/python benchmarks/view_scale.py            # 1 000 x 200 (builds the store once, ~1 min)
    .venv/bin/python benchmarks/view_scale.py --quick    # 50 x 20, a few seconds
    .venv/bin/python benchmarks/view_scale.py --growth 100 1000 10000   # how each grows (~15 min)

Each command runs in a fresh interpreter, as a user runs it (imports included); wall and
CPU seconds are both printed, since on a shared machine wall time also measures the
neighbours. Goals (issue 8): report <= 10 s, diagnose <= 5 s, trials csv <= 3 s, HTML < 20 MB.

`--growth N1 N2 ...` measures the same commands and the database size at N1, N2, ... trials
(x 200 epochs) and prints, for each, the exponent k of time ~ trials^k between sizes
(the slope in log-log): k = 1 is linear.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"report": 10.0, "diagnose": 5.0, "trials --epochs --format csv": 3.0}

REPORT = (
    "from fnosweep.cli.views import report; report({url!r}, 'synthetic', out=__import__('pathlib').Path({out!r}))"
)
TRIALS = (
    "from fnosweep.cli.views import trials, TableFormat; import pathlib; "
    "trials({url!r}, 'synthetic', fmt=TableFormat.csv, epochs=True, out=pathlib.Path({out!r}))"
)
# The sweep diagnosis as `fnosweep diagnose STUDY` can make it: every trial (histories read
# by history.parse_stored, the history parser's path for stored lines), then conclude and render_sweep.
DIAGNOSE = (
    "from fnosweep.store.refs import find_study; from fnosweep.view.analysis import sweep_conclusion; "
    "print(sweep_conclusion(find_study({url!r}, 'synthetic')).splitlines()[0])"
)


def timed(label: str, code: str) -> tuple[float, float]:
    """Run `code` in a fresh interpreter; (wall s, CPU s of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        sys.exit(f"{label} failed:\n{run.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def build(db: Path, n_trials: int, epochs: int) -> None:
    from fnosweep.testing.synthetic_sweep import build_sweep

    t0 = time.perf_counter()
    db.parent.mkdir(parents=True, exist_ok=True)
    # full: every trial records every epoch, so the store holds exactly n_trials x epochs rows.
    build_sweep(f"sqlite:///{db}", "synthetic", n_trials=n_trials, epochs=epochs, full=True, optuna_study=False)
    print(f"built {db} ({n_trials} x {epochs} epochs) in {time.perf_counter() - t0:.1f} s")


def store_at(n_trials: int, epochs: int, db: Path | None, rebuild: bool) -> Path:
    """The synthetic store of that size, built when missing (or asked to)."""
    db = db or Path(tempfile.gettempdir()) / "fnosweep-bench" / f"view_{n_trials}x{epochs}_v1.db"
    if rebuild or not db.exists():
        for f in db.parent.glob(db.name + "*"):
            f.unlink()
        build(db, n_trials, epochs)
    return db


def measure(db: Path, repeat: int) -> tuple[dict[str, tuple[float, float]], Path, Path]:
    """Wall and CPU seconds of each command on `db` (best of `repeat`), and the files written."""
    url = f"sqlite:///{db}"
    out = Path(tempfile.mkdtemp(prefix="fnosweep-bench-"))
    html, csv = out / "report.html", out / "epochs.csv"
    commands = {
        "report": REPORT.format(url=url, out=str(html)),
        "diagnose": DIAGNOSE.format(url=url),
        "trials --epochs --format csv": TRIALS.format(url=url, out=str(csv)),
    }
    times = {label: min((timed(label, code) for _ in range(repeat)), key=lambda wc: wc[0])
             for label, code in commands.items()}
    return times, html, csv


def db_bytes(db: Path) -> int:
    """The database on disk: the file and its WAL, after a checkpoint."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(f.stat().st_size for f in db.parent.glob(db.name + "*"))


def growth(sizes: list[int], epochs: int, repeat: int, rebuild: bool) -> None:
    """Each command's time, the HTML and the database at several sizes, with the exponents."""
    rows = []
    for n in sizes:
        db = store_at(n, epochs, None, rebuild)
        times, html, csv = measure(db, repeat)
        rows.append((n, times, html.stat().st_size, db_bytes(db)))
        for f in (html, csv):
            f.unlink()
    labels = list(GOALS)
    print(f"{len(sizes)} sizes x {epochs} epochs; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"{'trials':>7} {'epoch rows':>11} " + " ".join(f"{lab[:14]:>14}" for lab in labels)
          + f" {'HTML MB':>8} {'DB MB':>8} {'DB KB/1000 rows':>16}")
    for n, times, html_b, db_b in rows:
        cells = " ".join(f"{times[lab][0]:13.2f}s" for lab in labels)
        print(f"{n:7d} {n * epochs:11d} {cells} {html_b / 1e6:8.1f} {db_b / 1e6:8.1f} "
              f"{db_b / (n * epochs / 1000) / 1e3:16.1f}")
    print("exponent k (time ~ trials^k, wall) between consecutive sizes:")
    for (n0, t0, h0, d0), (n1, t1, h1, d1) in zip(rows, rows[1:], strict=False):
        k = {lab: math.log(t1[lab][0] / t0[lab][0]) / math.log(n1 / n0) for lab in labels}
        size_k = math.log(d1 / d0) / math.log(n1 / n0)
        html_k = math.log(h1 / h0) / math.log(n1 / n0)
        print(f"  {n0} -> {n1}: " + ", ".join(f"{lab} {k[lab]:.2f}" for lab in labels)
              + f", HTML {html_k:.2f}, DB {size_k:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 trials x 20 epochs")
    parser.add_argument("--db", type=Path, help="SQLite file to use (built when missing)")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (the best is kept)")
    parser.add_argument("--growth", type=int, nargs="+", metavar="TRIALS",
                        help="measure at these trial counts and print the growth exponents")
    args = parser.parse_args()
    epochs = 20 if args.quick else 200
    if args.growth:
        growth([max(2, n // 20) for n in args.growth] if args.quick else args.growth, epochs,
               args.repeat, args.rebuild)
        return
    n_trials = 50 if args.quick else 1000
    db = store_at(n_trials, epochs, args.db, args.rebuild)
    times, html, csv = measure(db, args.repeat)
    print(f"{n_trials} trials x {epochs} epochs; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':<30} {'wall s':>7} {'cpu s':>7} {'goal s':>7}")
    for label, (wall, cpu) in times.items():
        goal = GOALS[label]
        print(f"{label:<30} {wall:7.2f} {cpu:7.2f} {goal:7.1f}  {'ok' if wall <= goal else 'OVER (wall)'}")
    size = html.stat().st_size / 1e6
    print(
        f"report HTML: {size:.1f} MB (goal < 20 MB) {'ok' if size < 20 else 'OVER'}; "
        f"epochs CSV: {csv.stat().st_size / 1e6:.1f} MB; database {db_bytes(db) / 1e6:.1f} MB "
        f"({db_bytes(db) / (n_trials * epochs / 1000) / 1e3:.1f} KB per 1 000 epoch rows)"
    )
    print(f"files in {html.parent}")


if __name__ == "__main__":
    main()
