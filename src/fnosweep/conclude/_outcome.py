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


def prune_rule(reason: str | None) -> str:
    """Which rule pruned a trial, from its stored reason (`code: evidence`, as the sweep's
    `decide` writes it): `diverged`, `exploding_gradients`, `curve pruner`, `median pruner`..."""
    return (reason or "").split(":")[0].strip() or "pruner"


def prune_label(reason: Any) -> str:
    """A prune reason's kind, for the conclusion and the report: its rule when a verdict's
    or ``curve pruner``, else ``pruner`` (one of Optuna's). Anything but text (a missing
    reason in a DataFrame is NaN) is ``pruner``."""
    rule = prune_rule(reason if isinstance(reason, str) else None)
    return rule if rule in VERDICTS or rule == CURVE_LABEL else "pruner"
