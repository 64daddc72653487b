"""Per-verdict precision and recall of the diagnosis on the labelled corpus (issue 15).

    python benchmarks/diagnosis_corpus.py

Each run of examples/corpus has a known cause and the verdicts that cause admits
(labels.json, written before any diagnosis). A run counts as correct when its verdict is
one of them. Each run's gold verdict is its verdict when acceptable, else the first
acceptable one (the cause's own); per verdict V, precision = runs called V whose gold is V /
runs called V, recall = the same / runs whose gold is V.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from fnosweep.diagnose import diagnose  # noqa: E402
from fnosweep.history import read_history  # noqa: E402

CORPUS = REPO / "examples" / "corpus"


def main() -> None:
    labels = json.loads((CORPUS / "labels.json").read_text())
    called: Counter[str] = Counter()
    gold: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    ok = 0
    for name, lab in labels.items():
        d = diagnose(read_history(CORPUS / "runs" / f"{name}.jsonl"), target=lab["target"])
        right = d.verdict in lab["acceptable"]
        truth = d.verdict if right else lab["acceptable"][0]
        called[d.verdict] += 1
        gold[truth] += 1
        hit[d.verdict] += right
        ok += right
        if not right:
            print(f"  miss {name}: {d.verdict} (cause: {lab['cause']}; acceptable "
                  f"{lab['acceptable']})")
    n_syn = sum(lab["synthetic"] for lab in labels.values())
    print(f"corpus: {len(labels)} runs ({len(labels) - n_syn} real, {n_syn} synthetic); "
          f"acceptable verdict on {ok}/{len(labels)} = {ok / len(labels):.1%}")
    print(f"{'verdict':22} {'called':>6} {'gold':>5} {'precision':>9} {'recall':>7}")
    for v in sorted(set(called) | set(gold)):
        prec = f"{hit[v] / called[v]:.2f}" if called[v] else "-"
        rec = f"{hit[v] / gold[v]:.2f}" if gold[v] else "-"
        print(f"{v:22} {called[v]:>6} {gold[v]:>5} {prec:>9} {rec:>7}")


if __name__ == "__main__":
    main()
