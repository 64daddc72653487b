"""Non-finite steps that the monitor's guard skipped are not divergence; unguarded ones are."""

from __future__ import annotations

import dataclasses

import pytest
from diag_builders import decay, make

from fnosweep.diagnose import Thresholds, diagnose, prune_decision


def with_steps(h, *, nonfinite: list[int], skipped: list[int], steps: int = 100, nan_loss_at: int | None = None):
    epochs = []
    for i, e in enumerate(h.epochs):
        e = dataclasses.replace(e, nonfinite_steps=nonfinite[i], skipped_steps=skipped[i], steps=steps)
        if i == nan_loss_at:
            e = dataclasses.replace(e, train_loss=float("nan"))
        epochs.append(e)
    return type(h)(h.run, tuple(epochs))


FALLING = make(decay(6, 1.0, 0.3), eval=decay(6, 0.9, 0.3), lr=1e-3)


@pytest.mark.parametrize(("name", "history", "verdict", "codes"), [
    ("all skipped, finite", with_steps(FALLING, nonfinite=[0, 2, 0, 1, 0, 0], skipped=[0, 2, 0, 1, 0, 0]),
     "healthy", {"nonfinite_skipped"}),
    ("one not skipped", with_steps(FALLING, nonfinite=[0, 2, 0, 1, 0, 0], skipped=[0, 1, 0, 1, 0, 0]),
     "diverged", {"diverged"}),
    ("skipped but the loss went NaN",
     with_steps(FALLING, nonfinite=[0, 2, 0, 0, 0, 0], skipped=[0, 2, 0, 0, 0, 0], nan_loss_at=1),
     "diverged", {"diverged"}),
    ("no guard", with_steps(FALLING, nonfinite=[0, 2, 0, 0, 0, 0], skipped=[0] * 6), "diverged", {"diverged"}),
])  # fmt: skip
def test_guarded_steps_are_a_warning_not_divergence(name, history, verdict, codes):
    d = diagnose(history)
    assert d.verdict == verdict, name
    assert codes <= {f.code for f in d.findings}, name
    guard = d.by_code("nonfinite_skipped")
    if guard is not None:
        assert guard.severity == "warning"
        assert "3 step(s)" in guard.evidence and "2 epoch(s), epochs 1–3" in guard.evidence
        assert "1.5 % of their 200 steps" in guard.evidence


def test_a_guarded_trial_is_not_pruned_as_diverged():
    h = with_steps(FALLING, nonfinite=[0, 2, 0, 1, 0, 0], skipped=[0, 2, 0, 1, 0, 0])
    for n in range(len(h.epochs)):
        assert prune_decision(type(h)(h.run, h.epochs[: n + 1]), ["diverged"], Thresholds()) is None
