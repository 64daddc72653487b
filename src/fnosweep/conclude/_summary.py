"""One finished trial as a sweep reports it: the run's result lists these (`fnosweep run`'s
table), the conclusion its best ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fnosweep.diagnose.ttt import TimeToTarget


@dataclass(frozen=True)
class TrialSummary:
    """One finished trial: the run's result lists these, the sweep conclusion its best ones."""

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    epochs: int
    verdict: str | None
    reason: str | None
    ttt: TimeToTarget | None = None
    """Time to target, where the conclusion fitted the trial's curve."""

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "state": self.state, "value": self.value,
                "verdict": self.verdict, "params": dict(self.params), "epochs_run": self.epochs,
                "time_to_target": self.ttt.to_json() if self.ttt else None}  # fmt: skip
