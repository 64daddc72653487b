"""Named thresholds of the diagnosis rules; each is settable in a spec's `stability` section.

The spec parser builds ``Thresholds(**values)`` from that section, so every field is a
plain number with a default and a reason. docs/diagnosis.md explains each rule.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """When a rule fires. Defaults are what the seed analyses imply; see docs per field."""

    # -- diverged ----------------------------------------------------------------------
    diverge_loss_factor: float = 3.0
    """Training loss at the last epoch this many times its best so far, and not explained by
    a learning-rate jump, counts as divergence even while it is finite. A warm restart bumps
    the loss by 1.2-3x and then recovers; a run that diverges keeps climbing."""
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
    explode_clip_fraction: float = 0.5
    """Fraction of steps clipped above which clipping no longer holds the norm but rescales
    every step (seed 000: 93 % and 97 %)."""
    explode_min_epochs: int = 2
    """Epochs in a row, at the end, with clipping above `explode_clip_fraction`: one epoch
    of heavy clipping can be a transient, two is a trend (and what pruning waits for)."""
    explode_learning_gain: float = 0.01
    """With clipping on most steps, growth is an explosion only once the run stops improving:
    a last epoch better than every earlier one by this fraction (eval, else train loss) means
    clipping still holds the norm (a warning). Seed 000 stalled (train -0.4 %, eval +4 %); a
    sweep's best Darcy trials grew 2-4x under a 1.0 clip while their eval fell every epoch."""
    explode_growth_unclipped: float = 100.0
    """Growth that counts as explosion when the run does not clip (no clip fraction to
    confirm it): two orders of magnitude."""
    grad_warn_growth: float = 2.0
    """Growth of a steadily rising gradient norm that earns a warning while clipping still
    holds it (seed 001: 0.13 -> 3.73, clipping at 3.0 just begun)."""

    # -- trends ------------------------------------------------------------------------
    trend_window: int = 8
    """Last epochs over which a trend is judged (Theil-Sen slope, Mann-Kendall test)."""
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
    """Flat epochs at the end needed before a run that progressed is called stalled."""
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
