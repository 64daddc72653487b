"""Scale of the views: `report`, the sweep diagnosis and `trials --epochs --format csv` on a
synthetic SQLite study of 1 000 trials x 200 epochs (200 000 epoch rows).

    .venv/bin/python benchmarks/view_scale.py            # 1 000 x 200 (builds the store once, ~1 min)
    .venv/bin/python benchmarks/view_scale.py --quick    # 50 x 20, a few seconds

Each command runs in a fresh interpreter, as a user runs it (imports included); wall and
CPU seconds are both printed, since on a shared machine wall time also measures the
neighbours. Goals (issue 8): report <= 10 s, diagnose <= 5 s, trials csv <= 3 s, HTML < 20 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"report": 10.0, "diagnose": 5.0, "trials --epochs --format csv": 3.0}

REPORT = (
    "from fnosweep.view.commands import report; report({url!r}, 'synthetic', out=__import__('pathlib').Path({out!r}))"
)
TRIALS = (
    "from fnosweep.view.commands import trials, TableFormat; import pathlib; "
    "trials({url!r}, 'synthetic', fmt=TableFormat.csv, epochs=True, out=pathlib.Path({out!r}))"
)
# The sweep diagnosis as `fnosweep diagnose STUDY` can make it: every trial (histories read
# by fnosweep.view's fast reader), then conclude and render_sweep.
DIAGNOSE = (
    "from fnosweep.studies import open_study; from fnosweep.view.analysis import sweep_conclusion; "
    "print(sweep_conclusion(open_study({url!r}, 'synthetic')).splitlines()[0])"
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
    from fnosweep.view.synthetic import build_sweep

    t0 = time.perf_counter()
    db.parent.mkdir(parents=True, exist_ok=True)
    # full: every trial records every epoch, so the store holds exactly n_trials x epochs rows.
    build_sweep(f"sqlite:///{db}", "synthetic", n_trials=n_trials, epochs=epochs, full=True, optuna_study=False)
    print(f"built {db} ({n_trials} x {epochs} epochs) in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 trials x 20 epochs")
    parser.add_argument("--db", type=Path, help="SQLite file to use (built when missing)")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (the best is kept)")
    args = parser.parse_args()
    n_trials, epochs = (50, 20) if args.quick else (1000, 200)
    db = args.db or Path(tempfile.gettempdir()) / "fnosweep-bench" / f"view_{n_trials}x{epochs}_v1.db"
    if args.rebuild or not db.exists():
        for f in db.parent.glob(db.name + "*"):
            f.unlink()
        build(db, n_trials, epochs)
    url = f"sqlite:///{db}"
    out = Path(tempfile.mkdtemp(prefix="fnosweep-bench-"))
    html, csv = out / "report.html", out / "epochs.csv"
    commands = {
        "report": REPORT.format(url=url, out=str(html)),
        "diagnose": DIAGNOSE.format(url=url),
        "trials --epochs --format csv": TRIALS.format(url=url, out=str(csv)),
    }
    print(f"{n_trials} trials x {epochs} epochs; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':<30} {'wall s':>7} {'cpu s':>7} {'goal s':>7}")
    for label, code in commands.items():
        wall, cpu = min((timed(label, code) for _ in range(args.repeat)), key=lambda wc: wc[0])
        goal = GOALS[label]
        print(f"{label:<30} {wall:7.2f} {cpu:7.2f} {goal:7.1f}  {'ok' if wall <= goal else 'OVER (wall)'}")
    size = html.stat().st_size / 1e6
    print(
        f"report HTML: {size:.1f} MB (goal < 20 MB) {'ok' if size < 20 else 'OVER'}; "
        f"epochs CSV: {csv.stat().st_size / 1e6:.1f} MB"
    )
    print(f"files in {out}")


if __name__ == "__main__":
    main()
