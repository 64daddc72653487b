"""The curve pruner's decision: a pure function of one trial's values and the finished ones'.

Prune when even the optimistic end of the trial's projected end value (`_fit.project`) is
worse than the `rank`-th best finished trial by more than `margin`, and so is what the
finished trials' curves allow it from this step (`_experience.experienced`, when they are
given and `headroom` is set): a trial is hopeless only when its own curve and the finished
trials' experience both say so. Keep it otherwise, and
always while the study has fewer than `n_startup_trials` finished trials or the trial has
reported fewer than `n_warmup_steps` + 1 steps. A non-finite latest value is pruned at once
(a diverged trial has no curve to read).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fnosweep.pruners._experience import experienced
from fnosweep.pruners._fit import MIN_POINTS, project


@dataclass(frozen=True)
class CurveSettings:
    """The curve pruner's arguments (documented in docs/pruning.md)."""

    n_startup_trials: int = 1
    """Finished (COMPLETE) trials the study needs before the pruner compares with them."""
    n_warmup_steps: int = 2
    """Steps a trial reports before it can be pruned: the first fit is at step n_warmup_steps
    (and needs at least 3 finite points)."""
    confidence: float = 0.8
    """One-sided: the trial is pruned only if its end value is worse than the best with this
    probability under the fit (the optimistic bound is this interval's good end)."""
    margin: float = 0.0
    """Relative slack: compare with best x (1 + margin) when minimizing (best x (1 - margin)
    when maximizing), on |best|."""
    rank: int = 1
    """Compare with the rank-th best finished trial (1: the best)."""
    headroom: float | None = 1.5
    """The trial may still gain this many times the largest gain a finished trial made from
    the same step to its end (log scale for positive values); None: the trial's own curve alone."""

    def __post_init__(self) -> None:
        if not (isinstance(self.n_startup_trials, int) and self.n_startup_trials >= 1):
            raise ValueError(f"n_startup_trials must be an integer >= 1, but got "
                             f"n_startup_trials={self.n_startup_trials!r}")
        if not (isinstance(self.n_warmup_steps, int) and self.n_warmup_steps >= MIN_POINTS - 1):
            raise ValueError(f"n_warmup_steps must be an integer >= {MIN_POINTS - 1} (a fit "
                             f"needs {MIN_POINTS} points), but got "
                             f"n_warmup_steps={self.n_warmup_steps!r}")
        if not (isinstance(self.confidence, int | float) and 0.5 <= self.confidence < 1):
            raise ValueError(f"confidence must be in [0.5, 1), but got "
                             f"confidence={self.confidence!r}")
        if not (isinstance(self.margin, int | float) and 0 <= self.margin < math.inf):
            raise ValueError(f"margin must be a finite number >= 0, but got margin={self.margin!r}")
        if self.headroom is not None and not (isinstance(self.headroom, int | float)
                                              and 0 < self.headroom < math.inf):
            raise ValueError(f"headroom must be a finite number > 0 or null, but got "
                             f"headroom={self.headroom!r}")
        if not (isinstance(self.rank, int) and 1 <= self.rank <= self.n_startup_trials):
            raise ValueError(f"rank must be an integer from 1 to n_startup_trials "
                             f"({self.n_startup_trials}), but got rank={self.rank!r}")


@dataclass(frozen=True)
class Decision:
    """Prune or keep, why, and the numbers behind it (None where the rule did not get that far)."""

    prune: bool
    why: str
    """Short code: startup, warmup, too_few_points, non_finite, hopeful or hopeless."""
    step: int | None = None
    value: float | None = None
    """The trial's value at `step`, its latest."""
    end_step: int | None = None
    predicted: float | None = None
    """The fitted curve's value at `end_step`."""
    optimistic: float | None = None
    """The good end of its one-sided `confidence` interval."""
    experienced: float | None = None
    """What the finished trials' gains from `step`, times `headroom`, allow the trial: the
    trial is pruned only if this too is worse than the best."""
    best: float | None = None
    """The finished value compared with (the rank-th best), before the margin."""
    best_trial: int | None = None

    def to_attr(self) -> dict[str, float | int | str | None]:
        """The numbers as a JSON-able mapping (what the pruner stores on a pruned trial)."""
        return {"why": self.why, "step": self.step, "value": self.value, "end_step": self.end_step,
                "predicted": self.predicted, "optimistic": self.optimistic,
                "experienced": self.experienced, "best": self.best, "best_trial": self.best_trial}


def decide(points: Sequence[tuple[int, float]], finished: Sequence[tuple[int, float]], *,
           end_step: int, minimize: bool, settings: CurveSettings,
           curves: Iterable[Sequence[tuple[int, float]]] = ()) -> Decision:
    """Prune or keep a trial.

    `points`: the trial's (step, value) reports in step order; `finished`: (trial number,
    final value) of the study's COMPLETE trials; `end_step`: the budget's last step;
    `curves`: the finished trials' (step, value) reports in step order (none: the trial's
    own curve alone decides).
    """
    if not points:
        return Decision(False, "warmup")
    step, value = points[-1]
    if not math.isfinite(value):
        return Decision(True, "non_finite", step=step, value=value)
    ranked = sorted(((v, n) for n, v in finished if math.isfinite(v)), reverse=not minimize)
    if len(ranked) < settings.n_startup_trials:
        return Decision(False, "startup", step=step, value=value)
    if step < settings.n_warmup_steps or step >= end_step:
        return Decision(False, "warmup", step=step, value=value)
    best, best_trial = ranked[settings.rank - 1]
    finite = [(s, v) for s, v in points if math.isfinite(v)]
    proj = project(finite, end_step, confidence=settings.confidence, minimize=minimize)
    if proj is None:
        return Decision(False, "too_few_points", step=step, value=value)
    lived = None if settings.headroom is None else experienced(
        finite, curves, step, headroom=settings.headroom, minimize=minimize)
    bounds = [proj.optimistic] if lived is None else [proj.optimistic, lived]
    good = min(bounds) if minimize else max(bounds)
    slack = settings.margin * abs(best)
    worse = good > best + slack if minimize else good < best - slack
    return Decision(worse, "hopeless" if worse else "hopeful", step=step, value=value,
                    end_step=end_step, predicted=proj.value, optimistic=proj.optimistic,
                    experienced=lived, best=best, best_trial=best_trial)
