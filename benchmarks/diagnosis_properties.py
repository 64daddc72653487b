"""Contradictions between diagnosis texts and their numbers over generated histories (issue 15).

    python benchmarks/diagnosis_properties.py            # 5,000 histories
    python benchmarks/diagnosis_properties.py --n 500

Histories come from tests/diagnose/strategies.py (random walks, exponentials, bumps, NaN
bursts, missing fields, with and without a clip threshold, Adam/AdamW/SGD); each is
diagnosed, rendered, and checked by `fnosweep.diagnose.audit`. Prints how many histories
were checked and how many contradictions were found (0 is the goal), with the first few.
Derandomized: the same N gives the same histories.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests" / "diagnose")]

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from strategies import histories  # noqa: E402

from fnosweep.diagnose import diagnose, render_trial  # noqa: E402
from fnosweep.diagnose.audit import audit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="histories to generate")
    n = ap.parse_args().n
    verdicts: Counter[str] = Counter()
    found: list[tuple[str, list[str]]] = []
    first: list[str] = []

    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(histories())
    def check(h):  # type: ignore[no-untyped-def]
        d = diagnose(h)
        verdicts[d.verdict] += 1
        bad = audit(h, d, render_trial(d, h))
        if bad:
            found.append((d.verdict, bad))
            if not first:  # the first contradicting history, to reproduce it
                first.extend(h.to_lines())

    t0 = time.perf_counter()
    check()
    seconds = time.perf_counter() - t0
    checked = sum(verdicts.values())
    print(f"histories checked: {checked} in {seconds:.0f} s; verdicts: {dict(verdicts)}")
    print(f"contradictions: {sum(len(b) for _, b in found)} in {len(found)} histories")
    for verdict, bad in found[:10]:
        print(f"  {verdict}: {bad}")
    if first:
        print("first contradicting history:", *first, sep="\n")


if __name__ == "__main__":
    main()
