"""The labelled corpus (examples/corpus): each run's verdict is one its known cause admits.

Labels (cause, acceptable verdicts, target) were written by make_corpus.py before any
diagnosis ran. Done when >= 95 % of the runs get an acceptable verdict (issue 15); the
per-verdict precision and recall are benchmarks/diagnosis_corpus.py's (BENCHMARKS.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from fnosweep.diagnose import diagnose, render_trial
from fnosweep.diagnose.audit import audit
from fnosweep.history import read_history

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text())


def test_the_corpus_has_30_runs_most_real():
    real = [n for n, lab in LABELS.items() if not lab["synthetic"]]
    assert len(LABELS) >= 30 and len(real) >= 30
    assert any(lab["trainer"] for lab in LABELS.values())  # some through neuralop.Trainer
    assert all((CORPUS / "runs" / f"{n}.jsonl").exists() for n in LABELS)


def test_at_least_95_percent_get_an_acceptable_verdict_and_no_text_contradicts_itself():
    misses, contradictions = [], []
    for name, lab in LABELS.items():
        h = read_history(CORPUS / "runs" / f"{name}.jsonl")
        d = diagnose(h, target=lab["target"])
        if d.verdict not in lab["acceptable"]:
            misses.append((name, d.verdict, lab["acceptable"]))
        contradictions += [(name, c) for c in audit(h, d, render_trial(d, h))]
    assert len(misses) <= 0.05 * len(LABELS), misses
    assert contradictions == []
