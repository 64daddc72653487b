"""Named thresholds of the diagnosis rules; each is settable in a spec's `stability` section.

The spec parser builds ``Thresholds(**values)`` from that section, so every field is a
plain number with a default, a reason and a range (`LIMITS`, checked on construction: a
value out of it raises `ThresholdError`, a ValueError). docs/diagnosis.md explains each rule.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

VERDICTS = (
    "diverged",
    "exploding_gradients",
    "overfitting",
    "plateau",
    "learning_slowly",
    "overparameterized",
    "healthy",
)
"""Verdict codes, stable for machines, most severe first."""

UNSTABLE = ("diverged", "exploding_gradients")
"""Verdicts that mark a configuration as unstable (the sweep's unstable region)."""

UNJUDGED = "unknown"
"""The verdict of a history with no epochs: nothing could be judged (not one of `VERDICTS`,
so no stability rule prunes on it; the sweep's trial labels use the same word)."""


class ThresholdError(ValueError):
    """A threshold out of its range; `name`, `what` and `value` let the spec parser say
    where it was set (``stability -> target: must be > 0, but got 0.0``)."""

    def __init__(self, name: str, what: str, value: Any) -> None:
        super().__init__(f"{name} {what}, but got {name}={value!r}")
        self.name, self.what, self.value = name, what, value


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """When a rule fires. Defaults are what the seed analyses imply; see docs per field."""

    # -- diverged ----------------------------------------------------------------------
    diverge_loss_factor: float = 3.0
    """Training loss at the last epoch this many times its best so far, and not explained by
    a learning-rate jump, counts as divergence even while it is finite. A warm restart bumps
    the loss by 1.2-3x and then recovers; a run that diverges keeps climbing."""
    diverge_loss_rise: float = 0.5
    """A training loss that rises for real over the run (Mann-Kendall, `trend_z`) and ends this
    fraction above its best (+50 %) is divergence: a rising loss is instability, never a
    plateau and never cured by a higher lr (issue 15: +124 % was called a plateau)."""
    blowup_relative_loss: float = 10.0
    """A relative loss (L2 or H1, as neuralop and fnosweep train) at or above this in any epoch
    is divergence even when finite and falling again afterwards: a zero output scores 1.0, so
    10 means predictions ten times the target's norm, out of any useful basin."""
    lr_jump: float = 1.5
    """A learning rate this many times the previous epoch's is a jump (warm restart, step-up,
    warm-up): a loss bump right after it is the schedule's, not divergence."""
    restart_recover_epochs: int = 5
    """Epochs a loss bump after an lr jump gets to come back to its level before the jump;
    still up after that, it is divergence."""

    # -- exploding_gradients -----------------------------------------------------------
    explode_growth: float = 10.0
    """Pre-clip gradient norm growth (last epoch's median, against the first step's norm or
    the smallest epoch median) that counts as explosion: an order of magnitude. Seed 000
    grew 0.078 -> 27 (346x)."""
    explode_epoch_growth: float = 2.0
    """With clipping, the epoch norm itself must have grown this much from its lowest of the
    `trend_window` epochs before: a fresh model's first step is small (0.28), so a norm that
    jumps within epoch 0 (to 22) and then stays flat under a clip is heavy clipping, not
    explosion, and so is a long run's norm that settled 4-6x above its first epochs while
    converging. Seed 000's medians grew 7.5 -> 21 -> 27 (3.6x); a Darcy sweep's best trial
    held 22 -> 27 (1.2x)."""
    explode_clip_fraction: float = 0.5
    """Fraction of steps clipped above which clipping no longer holds the norm but rescales
    every step (seed 000: 93 % and 97 %)."""
    explode_min_epochs: int = 2
    """Epochs in a row, at the end, with clipping above `explode_clip_fraction`: one epoch
    of heavy clipping can be a transient, two is a trend (and what pruning waits for)."""
    explode_learning_gain: float = 0.01
    """With clipping on most steps, growth is an explosion only once the run stops improving:
    the best training loss or eval of the last `explode_min_epochs` epochs better than every
    earlier epoch by this fraction means clipping still holds the norm (a warning). Seed 000
    stalled (train -0.4 %, eval +4 %); in a 24-epoch Darcy sweep, trials that ended within
    1.0-1.4x of the best ran 10-25x above a 1.0 clip while their train loss fell and a
    32-sample eval rose for an epoch or two."""
    explode_growth_unclipped: float = 100.0
    """Growth that counts as explosion when the run does not clip (no clip fraction to
    confirm it): two orders of magnitude, while rising, in a run that stopped improving (a
    fresh model's first step is small: 0.25 -> 28.6 in 3 epochs while the loss fell 40 %)."""
    grad_warn_growth: float = 2.0
    """Growth of a steadily rising gradient norm that earns a warning while clipping still
    holds it (seed 001: 0.13 -> 3.73, clipping at 3.0 just begun)."""

    # -- trends ------------------------------------------------------------------------
    trend_window: int = 8
    """Last epochs over which a trend is judged (Theil-Sen slope, Mann-Kendall test); at
    least 3, the fewest a trend is computed from."""
    trend_z: float = 1.645
    """Mann-Kendall z above which a trend is real rather than noise (one-sided 5 %); four
    epochs moving the same way is the fewest that pass."""

    # -- plateau -----------------------------------------------------------------------
    plateau_min_epochs: int = 4
    """Epochs needed before a plateau is judged: with fewer, a slow start (seed 001 moved
    0.4 % in its first 4 epochs, then accelerated) cannot be told from a plateau."""
    plateau_min_progress: float = 0.05
    """Relative fall of the training loss (and eval) from the start below which the run
    'never moved much'."""
    plateau_min_rate: float = 0.002
    """Fall per epoch (0.2 %, Theil-Sen over the window) below which a run that did progress
    is now flat: converged if its eval reached the target, stalled (plateau) if not."""
    plateau_patience: int = 5
    """Flat epochs at the end needed before a run that progressed is called stalled (at least
    2: the flat stretch is judged as a trend over patience + 1 epochs, and a trend needs 3)."""
    target: float = 0.1
    """Default target of the eval metric (relative L2) for 'converged' and time to target:
    seed 000's 'good loss (< 0.1 L2)'."""

    # -- overfitting -------------------------------------------------------------------
    overfit_eval_rise: float = 0.05
    """Eval above its best by this fraction (5 %) counts as worsening."""
    overfit_patience: int = 3
    """Epochs since the best eval before worsening is judged (noise is not a trend)."""
    overfit_train_drop: float = 0.02
    """Fall of the training loss since the best-eval epoch that makes it 'train improves'
    (below it, both stall: a plateau, not overfitting)."""

    eval_gap_factor: float = 3.0
    """Eval at least this many times the training loss in every epoch from the first, and not
    following it down, points to the evaluation pipeline (a warning, ``eval_mismatch``): the
    same relative loss on held-out data starts near the training loss."""

    # -- learning_slowly ---------------------------------------------------------------
    slow_budget_factor: float = 2.0
    """A run is learning too slowly when reaching the target at its current rate needs more
    than this many times the epoch budget ('far too slowly', not 'a bit short')."""

    # -- overparameterized -------------------------------------------------------------
    overparam_ratio: float = 1000.0
    """Parameters per training sample above which a model is over-parameterised for its
    data (parameters counted as neuralop counts them). Seed 000: 6,927 per sample, with a
    model 167x the FNO paper's 414,517-parameter FNO-2D."""

    # -- sweep -------------------------------------------------------------------------
    region_min_trials: int = 2
    """Trials a bin of a searched knob needs, all stable, to be called safe."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            what, ok = LIMITS[f.name]
            value = getattr(self, f.name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or not ok(value):
                raise ThresholdError(f.name, f"must be {what}" if number else "must be a number", value)


_FACTOR = ("> 1 (a growth factor)", lambda x: x > 1)
_FRACTION = ("in [0, 1] (a fraction)", lambda x: 0 <= x <= 1)
_POSITIVE = ("> 0", lambda x: x > 0)


def _at_least(n: int) -> tuple[str, Callable[[float], bool]]:
    return f">= {n}", lambda x: x >= n


LIMITS: Mapping[str, tuple[str, Callable[[float], bool]]] = {
    "diverge_loss_factor": _FACTOR,
    "explode_epoch_growth": _FACTOR,
    "diverge_loss_rise": _POSITIVE,
    "blowup_relative_loss": ("> 1 (a zero output scores 1.0)", lambda x: x > 1),
    "lr_jump": _FACTOR,
    "restart_recover_epochs": _at_least(1),
    "explode_growth": _FACTOR,
    "explode_clip_fraction": _FRACTION,
    "explode_min_epochs": _at_least(1),
    "explode_learning_gain": _FRACTION,
    "explode_growth_unclipped": _FACTOR,
    "grad_warn_growth": _FACTOR,
    "trend_window": (">= 3 (a trend needs 3 epochs)", lambda x: x >= 3),
    "trend_z": _POSITIVE,
    "plateau_min_epochs": _at_least(1),
    "plateau_min_progress": _FRACTION,
    "plateau_min_rate": _FRACTION,
    "plateau_patience": (">= 2 (a trend needs 3 epochs)", lambda x: x >= 2),
    "target": _POSITIVE,
    "overfit_eval_rise": (">= 0", lambda x: x >= 0),
    "overfit_patience": _at_least(1),
    "overfit_train_drop": _FRACTION,
    "eval_gap_factor": _FACTOR,
    "slow_budget_factor": (">= 1 (times the epoch budget)", lambda x: x >= 1),
    "overparam_ratio": _POSITIVE,
    "region_min_trials": _at_least(1),
}
"""The range of each threshold, as (what the message says, the test); every field has one."""
