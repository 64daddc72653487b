"""What a sweep run tells its caller: live progress snapshots and the final result (values),
built from the study's frozen trials by pure functions (no Optuna import). A trial's
summary is the conclusion's `TrialSummary`: one type for the run's table and the best trials."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fnosweep.conclude._counts import Outcome, prune_rule, state_counts, verdict_counts  # noqa: F401 (the views' counts)
from fnosweep.conclude._summary import TrialSummary


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
class SweepResult:
    study_name: str
    storage: str
    direction: str
    metric: str
    trials: tuple[TrialSummary, ...]
    interrupted: bool
    notes: tuple[str, ...] = ()

    def best(self, k: int = 5) -> list[TrialSummary]:
        """The `k` best complete trials (a pruned or failed trial's value is of an unfinished run)."""
        sign = 1.0 if self.direction == "minimize" else -1.0
        scored = [(sign * t.value, t) for t in self.trials
                  if t.state == "COMPLETE" and t.value is not None and math.isfinite(t.value)]  # fmt: skip
        return [t for _, t in sorted(scored, key=lambda st: st[0])][:k]


Listener = Callable[[Progress], None]


INTERRUPTED = "fnosweep:interrupted"
"""User attribute of a trial the driver stopped (Ctrl-C, crash): its params are run again."""


def progress_of(trials: Sequence[Any], n_trials: int, direction: str, running: tuple[tuple[int, int, int], ...],
                last_event: str | None) -> Progress:  # fmt: skip
    """A snapshot from the study's trials (Optuna's FrozenTrial); interrupted ones do not count."""
    count: dict[str, int] = {}
    for t in trials:
        if not t.user_attrs.get(INTERRUPTED):
            count[t.state.name] = count.get(t.state.name, 0) + 1
    best = best_trial(trials, direction)
    return Progress(n_trials=n_trials, complete=count.get("COMPLETE", 0), pruned=count.get("PRUNED", 0),
                    failed=count.get("FAIL", 0), running=running, best_value=best.value if best else None,
                    best_trial=best.number if best else None, last_event=last_event)  # fmt: skip


def summaries_of(trials: Sequence[Any], rows: Sequence[Any], epochs: Mapping[int, int]) -> list[TrialSummary]:
    """One summary per finished trial: the store's row (value, verdict, reason) where it has one."""
    by_number = {r.number: r for r in rows}
    out = []
    for t in trials:
        if t.user_attrs.get(INTERRUPTED) or t.state.name in ("RUNNING", "WAITING"):
            continue
        row = by_number.get(t.number)
        out.append(TrialSummary(
            t.number, t.state.name, row.value if row else t.value, dict(t.params), epochs.get(t.number, 0),
            row.verdict if row else None, row.reason if row else t.user_attrs.get("reason"),
        ))  # fmt: skip
    return out


def best_trial(trials: Sequence[Any], direction: str) -> Any | None:
    """The best COMPLETE trial with a value."""
    done = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    if not done:
        return None
    return min(done, key=lambda t: t.value if direction == "minimize" else -t.value)


SHORT_NAMES: Mapping[str, str] = {
    "lr": "lr",
    "clip_threshold": "clip",
    "scheduler.type": "sched",
    "scheduler.step_size": "step",
    "batch_size": "bs",
    "hidden_channels": "width",
    "weight_decay": "wd",
    "n_layers": "layers",
    "n_modes": "modes",
}
"""Column headers of the knobs users search most; any other knob is headed by its last dotted part."""


def short_name(key: str) -> str:
    """`training.clip_threshold` -> `clip`; `model.foo.bar` -> `bar`."""
    for suffix, short in SHORT_NAMES.items():
        if key == suffix or key.endswith("." + suffix):
            return short
    return key.rsplit(".", 1)[-1]


def searched_knobs(trials: Iterable[TrialSummary]) -> list[str]:
    """Every parameter any trial was given, in the search space's order: a conditional knob
    (`scheduler.step_size`) goes after the knob it followed in the trial that had it."""
    order: list[str] = []
    for t in trials:
        previous = None
        for key in t.params:
            if key not in order:
                order.insert(order.index(previous) + 1 if previous is not None else 0, key)
            previous = key
    return order
