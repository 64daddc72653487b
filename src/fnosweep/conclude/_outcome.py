"""What a finished trial counts as, in every count of the conclusion and the report."""

from __future__ import annotations

from typing import Any

from fnosweep.spec.thresholds import UNSTABLE, VERDICTS

BAD = (*UNSTABLE, "failed")
"""Outcomes that count as unstable: in the regions, the attribution and the stability map."""


def outcome(state: str, verdict: Any) -> str:
    """A trial's verdict, else ``failed`` (FAIL), ``running`` or ``unknown``.

    The one definition: a FAIL trial with a stored verdict ran and was diagnosed, and counts
    under that verdict; one without counts as ``failed``, which is bad."""
    if isinstance(verdict, str) and verdict:  # a DataFrame holds a missing verdict as NaN
        return verdict
    return {"FAIL": "failed", "RUNNING": "running", "WAITING": "running"}.get(state, "unknown")


CURVE_LABEL = "curve pruner"
"""How a curve-pruned trial's stored reason starts (`fnosweep.pruners.explain`)."""


def prune_label(reason: Any) -> str:
    """A prune reason's kind: the verdict code it starts with, ``curve pruner``, else
    ``pruner`` (Optuna's)."""
    text = reason.strip() if isinstance(reason, str) else ""
    if text.startswith(CURVE_LABEL):
        return CURVE_LABEL
    return next((v for v in VERDICTS if text.startswith(v)), "pruner")
