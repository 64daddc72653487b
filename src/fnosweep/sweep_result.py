"""What a sweep run tells its caller: live progress snapshots and the final result (values)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """A snapshot for a live display."""

    n_trials: int
    complete: int
    pruned: int
    failed: int
    running: tuple[tuple[int, int, int], ...]
    """(trial number, epochs done, epoch budget) of each running trial."""
    best_value: float | None
    best_trial: int | None
    last_event: str | None = None


@dataclass(frozen=True)
class TrialSummary:
    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    epochs: int
    verdict: str | None
    reason: str | None


@dataclass(frozen=True)
class SweepResult:
    study_name: str
    storage: str
    direction: str
    metric: str
    trials: tuple[TrialSummary, ...]
    interrupted: bool
    notes: tuple[str, ...] = ()

    def best(self, k: int = 5) -> list[TrialSummary]:
        scored = [t for t in self.trials if t.value is not None and math.isfinite(t.value)]
        return sorted(scored, key=lambda t: t.value if self.direction == "minimize" else -t.value)[:k]  # type: ignore[operator]


Listener = Callable[[Progress], None]
