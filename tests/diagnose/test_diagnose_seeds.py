"""The two seed runs, as history files, get the diagnosis the hand-written analyses imply."""

from __future__ import annotations

from pathlib import Path

import pytest

from fnosweep.diagnose import Thresholds, diagnose, prune_decision, render_trial
from fnosweep.history import read_history

HISTORIES = Path(__file__).resolve().parents[2] / "examples" / "histories"


@pytest.fixture(scope="module")
def seed000():
    return read_history(HISTORIES / "seed000_unstable.jsonl")


@pytest.fixture(scope="module")
def seed001():
    return read_history(HISTORIES / "seed001_progressing.jsonl")


def test_seed000_exploding_and_overparameterized(seed000):
    d = diagnose(seed000)
    assert d.verdict == "exploding_gradients"
    explode = d.by_code("exploding_gradients")
    size = d.by_code("overparameterized")
    assert size is not None and size.severity == "problem"
    for quoted in ("7.5 → 27", "0.078", "38.94", "97 % of steps clipped at 10.0", "346×"):
        assert quoted in explode.evidence
    for quoted in ("lower lr from 1e-4 to 3e-5", "clip at 1.0 rather than 10.0",
                   "ReduceLROnPlateau"):
        assert quoted in explode.action
    assert "6,927 per sample" in size.evidence and "69,265,345" in size.evidence


def test_seed001_healthy_with_gradient_warning(seed001):
    d = diagnose(seed001)
    assert d.verdict == "healthy"
    warn = d.by_code("gradient_growth")
    assert warn is not None and warn.severity == "warning"
    assert "0.13" in warn.evidence and "3.73" in warn.evidence
    assert "clipping at 3.0 began in epoch 11" in warn.evidence
    assert any("model size" in t for t in d.not_judged)
    assert not [f for f in d.findings if f.severity == "problem"]


def test_seed000_pruned_at_epoch_2_not_before(seed000):
    th = Thresholds()
    calls = [prune_decision(type(seed000)(seed000.run, seed000.epochs[: n + 1]),
                            ["diverged", "exploding_gradients"], th) for n in range(3)]
    assert calls[0] is None and calls[1] is None
    assert calls[2] is not None and calls[2].code == "exploding_gradients"


def test_seed001_never_pruned(seed001):
    th = Thresholds()
    for n in range(len(seed001.epochs)):
        part = type(seed001)(seed001.run, seed001.epochs[: n + 1])
        assert prune_decision(part, ["diverged", "exploding_gradients", "plateau"], th) is None


def test_rendered_seeds_answer_the_questions(seed000, seed001):
    for h, numbers in ((seed000, ["69,265,345", "0.6578 → 0.6866", "0.078"]),
                       (seed001, ["0.13", "3.73", "1.0008 → 0.8893"])):
        text = render_trial(diagnose(h), h)
        for heading in ("loss", "gradients", "normal for this data and model size",
                        "How long until a good loss?", "What to change"):
            assert heading in text
        for n in numbers:
            assert n in text
        assert max(len(line) for line in text.splitlines()) <= 100


def test_docs_show_the_current_texts_beside_the_hand_written_ones(seed000, seed001):
    docs = (HISTORIES.parents[1] / "docs" / "diagnosis.md").read_text()
    for name, h in (("seed000_unstable", seed000), ("seed001_progressing", seed001)):
        assert render_trial(diagnose(h), h, title=name).rstrip() in docs, name
