"""The report of the same synthetic stores made by two source trees, one after the other:
its wall time and HTML size (BENCHMARKS.md §5b).

    git archive 4ff4c3c src | tar -x -C /tmp/base     # the tree to compare with
    .venv/bin/python benchmarks/report_side_by_side.py /tmp/base/src --sizes 100 300

The stores are view_scale.py's (N trials x 200 epochs, built when missing). Each report runs
in a fresh interpreter with PYTHONPATH set to the tree, as `fnosweep report` would.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from view_scale import store_at  # noqa: E402

CODE = (
    "from fnosweep.cli.views import report; import pathlib; "
    "report({url!r}, 'synthetic', out=pathlib.Path({out!r}))"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="the other tree's src/ directory")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300])
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1] / "src"
    out = Path(tempfile.mkdtemp(prefix="fnosweep-sbs-"))
    print(f"{'trials':>6} {'tree':<40} {'wall s':>8} {'HTML MB':>8} {'load':>5}")
    for n in args.sizes:
        url = f"sqlite:///{store_at(n, 200, None, rebuild=False)}"
        for src in (args.base.resolve(), here):
            html = out / f"{n}_{abs(hash(str(src)))}.html"
            env = {**os.environ, "PYTHONPATH": str(src)}
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", CODE.format(url=url, out=str(html))], env=env, check=True,
                           capture_output=True)  # fmt: skip
            wall = time.perf_counter() - t0
            print(f"{n:6d} {str(src)[-40:]:<40} {wall:8.1f} {html.stat().st_size / 1e6:8.2f} {os.getloadavg()[0]:5.1f}")


if __name__ == "__main__":
    main()
