"""learning_slowly: the pace, against the epoch budget or, without one, the epochs seen.

Falling, but the fitted curve (ttt.py) reaches the target only after `slow_budget_factor`
times the budget, or not at all; without a budget, only a run that barely moves over two
trend windows (or whose weights barely move) is judged, so a short run's slow start is not.
The time to target is a note otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace
from statistics import median

from fnosweep.diagnose import claims, fmt
from fnosweep.diagnose.context import Context, Result
from fnosweep.diagnose.findings import Finding, Step, action_text
from fnosweep.diagnose.progress import progress
from fnosweep.diagnose.ttt import TimeToTarget, time_to_target
from fnosweep.history import History

STOPS_PACE = ("diverged", "exploding_gradients", "plateau", "overfitting", "eval_mismatch")
"""Findings after which the pace is not judged: the run has a worse problem (or its eval
cannot be trusted), and 'learning slowly' would add an lr action against it."""


def slow_rule(ctx: Context, found: Collection[str] = ()) -> Result:
    """learning_slowly against the epoch budget, or without one against the epochs seen (the
    time to target's default horizon); the time to target as a note otherwise."""
    th = ctx.th
    budget = ctx.run.epochs
    if ctx.loss is None and ctx.eval is None:
        return [], []
    seen = ctx.last_epoch + 1
    # no budget: ten times the epochs seen (at least 100), the time to target's own horizon
    horizon = int((budget or max(100, 10 * seen)) * th.slow_budget_factor)
    metric = None if "eval_mismatch" in found else ctx.metric
    ttt = time_to_target(ctx.history, ctx.target, metric=metric, horizon=horizon)
    if metric is None and ctx.metric is not None:
        ttt = time_to_target(_train_only(ctx), ctx.target, horizon=horizon)
    slow = ttt.status in ("not_within", "not_falling") and (budget or _barely_moves(ctx, metric))
    if slow and not set(found) & set(STOPS_PACE) and _moving_or_flat(ctx):
        return [_slow(ctx, ttt, budget)], []
    return [_ttt_note(ttt)], []


SLOW_UPDATE_RATIO = 1e-5
"""A median update ratio (weight change per epoch over the weight norm) below this is a run
whose weights barely move: a learning FNO moves ~1e-3–1e-1 of its norm per epoch."""


def _barely_moves(ctx: Context, metric: str | None) -> bool:
    """Without a budget: the curve moved less than `plateau_min_progress` over a long run (two
    trend windows), or the weights barely move. (A short run's slow start is not judged.)"""
    s = ctx.eval if metric is not None else ctx.loss
    if s is None or progress(s) >= ctx.th.plateau_min_progress:
        return False
    return len(s) >= 2 * ctx.th.trend_window or (_update_ratio(ctx) or 1.0) < SLOW_UPDATE_RATIO


def _update_ratio(ctx: Context) -> float | None:
    ratios = [e.update_ratio for e in ctx.history.epochs
              if e.update_ratio is not None and math.isfinite(e.update_ratio)]
    return median(ratios) if ratios else None


def _train_only(ctx: Context) -> History:
    """The history without its eval (an eval the pipeline check distrusts)."""
    return History(ctx.history.run, tuple(replace(e, eval={}) for e in ctx.history.epochs))


def _moving_or_flat(ctx: Context) -> bool:
    """Not rising: a rising loss is instability, whatever its pace."""
    return ctx.loss is None or claims.direction(ctx.loss.points, ctx.th.trend_z) != "rises"


def _slow(ctx: Context, ttt: TimeToTarget, budget: int | None) -> Finding:
    lr = ctx.lr_value()
    steps: list[Step] = []
    calm = ctx.grad is None or claims.direction(ctx.grad.points, ctx.th.trend_z) != "rises"
    clipped_sgd = ctx.sgd and (ctx.last_clip() or 0.0) >= ctx.th.explode_clip_fraction
    if clipped_sgd:
        steps.append(Step("clip", "raise", "clip near the p95 gradient norm: for SGD the clip "
                                           "sets the step length"))
    elif calm:
        steps.append(Step("lr", "raise", f"raise lr from {fmt.sci(lr)} to {fmt.sci(lr * 3)} (×3)"
                          if lr else "raise the lr (×3)"))
    if ttt.epoch is not None and math.isfinite(ttt.epoch) and ttt.epoch <= 1e6:
        steps.append(Step("budget", "raise", f"or a budget of about {ttt.epoch:,.0f} epochs"))
    evidence = ttt.text() + (f" The budget is {budget} epochs." if budget else
                             " The run line has no epoch budget; judged against the "
                             f"{ttt.horizon} epochs the fit looks ahead.")
    ratio = _update_ratio(ctx)
    if ratio is not None:
        evidence += (f" The weights move {fmt.num(ratio)} of their norm per epoch (median "
                     "update ratio).")
    return Finding("learning_slowly", "problem", ttt.last_epoch, evidence,
                   action_text(steps) if steps else "none.",
                   _ttt_numbers(ttt) | {"budget": budget}, tuple(steps))


def _ttt_note(ttt: TimeToTarget) -> Finding:
    return Finding("time_to_target", "info", ttt.last_epoch, ttt.text(), "none.",
                   _ttt_numbers(ttt))


def _ttt_numbers(ttt: TimeToTarget) -> dict[str, float | int | str | None]:
    return {"metric": ttt.metric, "target": ttt.target, "status": ttt.status,
            "epoch": ttt.epoch, "low": ttt.low, "high": ttt.high, "horizon": ttt.horizon,
            "model": ttt.model, "rate": ttt.rate}
