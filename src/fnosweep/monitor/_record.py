"""An epoch's `EpochRecord` from its accumulators, once read to the host: the means over
the steps taken and over the finite steps, NaN where there is nothing finite to report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from fnosweep.history import EpochRecord
from fnosweep.monitor._accumulators import EpochAccumulators, EpochTotals
from fnosweep.monitor._grad_stats import norm_summary


def epoch_record(
    index: int,
    acc: EpochAccumulators,
    t: EpochTotals,
    *,
    groups: Sequence[str],
    eval_values: dict[str, Any],
    lr: float | None,
    clipping: bool,
    seconds: float,
    eval_time_s: float | None,
    peak_mem_bytes: int,
) -> EpochRecord:
    """The record of epoch `index`: `acc`'s host counters and `t`, its device totals."""
    finite = t.finite_steps
    # Mean over the batches of the steps taken: a skipped step's (non-finite) loss is
    # left out; NaN when every step was skipped (there is no finite loss to report).
    return EpochRecord(
        epoch=index,
        train_loss=(t.loss_sum / acc.loss_samples if acc.loss_samples else math.nan) if acc.batches else None,
        train_err=(t.loss_sum / acc.loss_batches if acc.loss_batches else math.nan) if acc.batches else None,
        eval=eval_values,
        lr=lr,
        grad_norm=norm_summary(t.norms, t.max_norm, t.first_norm),
        clip_fraction=t.clipped_steps / acc.steps if clipping else None,
        steps=acc.steps,
        nonfinite_steps=t.nonfinite_steps,
        nonfinite_loss_steps=t.nonfinite_loss_steps if acc.batches else None,
        skipped_steps=acc.skipped,
        groups={
            g: {"mean": s / finite if finite else math.nan, "max": m if finite else math.nan}
            for g, s, m in zip(groups, t.group_sum, t.group_max, strict=True)
        },
        weight_norm=t.weight_norm,
        update_ratio=t.update_norm / t.start_weight_norm if t.start_weight_norm > 0 else None,
        epoch_time_s=seconds,
        eval_time_s=eval_time_s,
        samples_per_s=acc.samples / seconds if acc.batches and seconds > 0 else None,
        peak_mem_bytes=peak_mem_bytes,
    )
