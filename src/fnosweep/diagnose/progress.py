"""Is the run learning? Plateau vs converged vs slow, and overfitting vs both stalling.

- plateau: the training loss (and eval) never fell `plateau_min_progress` from the start and
  shows no real downward trend (Mann-Kendall over the window: a noisy but falling loss has
  one); or it did fall but has been flat for `plateau_patience` epochs with eval still above
  the target (stalled). Flat after real progress with eval at the target is ``converged``.
- overfitting: eval `overfit_eval_rise` above its best for `overfit_patience` epochs while the
  training loss kept falling; eval worsening with a flat training loss is not overfitting.
- learning_slowly: falling, but the fitted curve reaches the target only after
  `slow_budget_factor` times the epoch budget.
"""

from __future__ import annotations

from fnosweep.diagnose import fmt
from fnosweep.diagnose.context import Context, Result, change_text
from fnosweep.diagnose.curve import Trend, level, trend
from fnosweep.diagnose.findings import Finding
from fnosweep.diagnose.series import Series
from fnosweep.diagnose.ttt import TimeToTarget, time_to_target


def progress(s: Series) -> float:
    """Relative fall from the starting level to the recent one (0.2 = fell 20 %); levels are
    medians of three epochs, so one noisy epoch at either end cannot fake progress."""
    first = level(s.values, at_end=False)
    return (first - level(s.values, at_end=True)) / abs(first) if first else 0.0


def falls(s: Series | None, ctx: Context, window: int | None = None) -> bool:
    """A real fall: Mann-Kendall significant over the window, or over the last half of the
    run when that is longer (a noisy but falling loss needs more epochs to show its trend)."""
    if s is None:
        return False
    w = window or ctx.th.trend_window
    for n in dict.fromkeys((w, _long(w, s, ctx))):
        t = trend(s.points, n)
        if t is not None and t.falling(ctx.th.trend_z) and t.rate <= -ctx.th.plateau_min_rate:
            return True
    return False


def _significant(s: Series | None, ctx: Context) -> bool:
    """Falling for real at any pace (the 'never moved' test: slow but real is not a plateau)."""
    if s is None:
        return False
    w = ctx.th.trend_window
    return any((t := trend(s.points, n)) is not None and t.falling(ctx.th.trend_z)
               for n in dict.fromkeys((w, _long(w, s, ctx))))


def plateau_rule(ctx: Context) -> Result:
    th = ctx.th
    if ctx.loss is None:
        return [], ["plateau: the history has no train_loss"]
    if len(ctx.loss) < th.plateau_min_epochs:
        return [], [f"plateau: {len(ctx.loss)} epochs; {th.plateau_min_epochs} are needed to "
                    "tell a plateau from a slow start"]
    t_loss = trend(ctx.loss.points, th.trend_window)
    moved = progress(ctx.loss) >= th.plateau_min_progress or (
        ctx.eval is not None and progress(ctx.eval) >= th.plateau_min_progress)
    if not moved:
        if _significant(ctx.loss, ctx) or _significant(ctx.eval, ctx):
            return [], []  # moving slowly but for real: learning_slowly judges the pace
        return [_never_moved(ctx, t_loss)], []
    return _after_progress(ctx), []


def _never_moved(ctx: Context, t: Trend | None) -> Finding:
    assert ctx.loss is not None
    evidence = change_text(ctx.loss, _loss_label(ctx))
    if t is not None:
        evidence += (f"; over {fmt.epochs(t.first_epoch, t.last_epoch)} Theil–Sen "
                     f"{fmt.pct(t.rate)}/epoch, no real trend (Mann–Kendall z {t.z:.1f})")
    if ctx.eval is not None:
        evidence += f"; eval {change_text(ctx.eval)}"
    last_clip = ctx.last_clip()
    lr = ctx.lr_value()
    if last_clip is not None and last_clip >= ctx.th.explode_clip_fraction:
        cause = (f"; {fmt.pct(last_clip, signed=False)} of steps are clipped, so the steps "
                 "follow the clipped gradient rather than the loss")
        action = "lower lr" + (f" from {fmt.sci(lr)} to {fmt.sci(fmt.lower(lr))} (÷3)" if lr else
                               " (÷3)") + " so that clipping becomes rare."
    else:
        cause = "; the gradients are calm, so the steps are too small to move the loss"
        action = ("raise lr" + (f" from {fmt.sci(lr)} to {fmt.sci(lr * 3)} (×3)" if lr else " (×3)")
                  + "; if a higher lr does not move it either, check the data normalisation "
                  "and that the targets are learnable (a relative L2 of 1.0 is a zero output).")
    return Finding("plateau", "problem", ctx.loss.points[0][0], evidence + cause + ".", action,
                   {"progress": round(progress(ctx.loss), 4),
                    "rate": None if t is None else round(t.rate, 5),
                    "z": None if t is None else round(t.z, 2)})


def _after_progress(ctx: Context) -> list[Finding]:
    th = ctx.th
    assert ctx.loss is not None
    recent = th.plateau_patience + 1
    if len(ctx.loss) < recent + 1:
        return []
    if falls(ctx.loss, ctx, recent) or falls(ctx.eval, ctx, recent):
        return []
    t_loss = trend(ctx.loss.points, recent)
    assert t_loss is not None
    head = (f"{change_text(ctx.loss, _loss_label(ctx))} ({fmt.pct(-progress(ctx.loss))} to the "
            f"recent level), then flat over {fmt.epochs(t_loss.first_epoch, t_loss.last_epoch)} "
            f"(Theil–Sen {fmt.pct(t_loss.rate)}/epoch)")
    numbers = {"progress": round(progress(ctx.loss), 4), "rate": round(t_loss.rate, 5),
               "target": ctx.target}
    if ctx.eval is None:
        return [Finding("converged", "info", t_loss.first_epoch,
                        head + "; no eval metric to say whether the level is good.",
                        "record an eval metric to judge it.", numbers)]
    ev = level(ctx.eval.values, at_end=True)
    numbers |= {"eval": ev}
    if ev <= ctx.target:
        return [Finding("converged", "info", t_loss.first_epoch,
                        f"{head}; eval {ctx.eval.name} {fmt.num(ev)} ≤ target "
                        f"{fmt.num(ctx.target)}: converged.",
                        "none needed; stop here or decay the lr for the last digits.", numbers)]
    lr = ctx.lr_value()
    return [Finding("plateau", "problem", t_loss.first_epoch,
                    f"{head}; eval {ctx.eval.name} {fmt.num(ev)}, {fmt.factor(ev / ctx.target)} "
                    f"the target {fmt.num(ctx.target)}: stalled.",
                    "decay the lr when it stalls (plateau scheduler, factor 0.3, patience "
                    f"{th.plateau_patience}" + (f"; from {fmt.sci(lr)} to {fmt.sci(fmt.lower(lr))}"
                                                if lr else "")
                    + "); if a lower lr does not move it, capacity (hidden_channels, n_modes) or "
                    "data (n_train) limits it.", numbers)]


def overfitting_rule(ctx: Context) -> Result:
    th = ctx.th
    if ctx.eval is None:
        return [], ["overfitting: the history has no eval metrics"]
    if ctx.loss is None:
        return [], ["overfitting: the history has no train_loss to compare eval with"]
    pts = ctx.eval.points
    best_e, best = min(pts, key=lambda p: p[1])
    after = [(e, v) for e, v in pts if e > best_e]
    if len(after) < th.overfit_patience or best <= 0:
        return [], []
    last_e, last = after[-1]
    rise = level([v for _, v in after], at_end=True) / best - 1
    loss = dict(ctx.loss.points)
    train_at_best = loss.get(best_e, ctx.loss.values[0])
    train_now = level(ctx.loss.values, at_end=True)
    drop = (train_at_best - train_now) / train_at_best if train_at_best else 0.0
    if rise < th.overfit_eval_rise or drop < th.overfit_train_drop:
        return [], []
    evidence = (f"eval {ctx.eval.name} best {fmt.num(best)} at epoch {best_e} → {fmt.num(last)} "
                f"at epoch {last_e} ({fmt.pct(rise)}) while train loss {fmt.num(train_at_best)} → "
                f"{fmt.num(train_now)} ({fmt.pct(-drop)}): the model fits the training set "
                "better and the test set worse")
    wd = ctx.run.weight_decay
    action = (f"keep the epoch-{best_e} checkpoint (stop on {ctx.eval.name}); raise weight_decay "
              + (f"from {fmt.sci(wd)} to {fmt.sci(wd * 10)} (×10)" if wd else "to 1e-4")
              + "; fewer parameters (hidden_channels, n_modes) or more training samples.")
    return [Finding("overfitting", "problem", best_e, evidence + ".", action,
                    {"best": best, "best_epoch": best_e, "last": last, "eval_rise": round(rise, 4),
                     "train_drop": round(drop, 4)})], []


def slow_rule(ctx: Context, plateaued: bool) -> Result:
    """learning_slowly against the epoch budget, and the time to target as a note."""
    th = ctx.th
    budget = ctx.run.epochs
    missing = [] if budget else [
        "learning speed: the run line has no epoch budget ('epochs'); time to target only"]
    if ctx.loss is None and ctx.eval is None:
        return [], missing
    horizon = int(budget * th.slow_budget_factor) if budget else None
    ttt = time_to_target(ctx.history, ctx.target, metric=ctx.metric, horizon=horizon)
    if budget and not plateaued and ttt.status == "not_within":
        return [_slow(ctx, ttt, budget)], missing
    return [_ttt_note(ttt)], missing


def _slow(ctx: Context, ttt: TimeToTarget, budget: int) -> Finding:
    lr = ctx.lr_value()
    calm = (ctx.last_clip() or 0.0) < 0.1
    action = (f"raise lr from {fmt.sci(lr)} to {fmt.sci(lr * 3)} (×3)" if lr and calm else
              "raise the lr once the gradients are calm")
    if ttt.epoch is not None:
        action += f", or a budget of about {ttt.epoch:,.0f} epochs"
    return Finding("learning_slowly", "problem", ttt.last_epoch,
                   f"{ttt.text()} The budget is {budget} epochs.", action + ".",
                   _ttt_numbers(ttt) | {"budget": budget})


def _ttt_note(ttt: TimeToTarget) -> Finding:
    return Finding("time_to_target", "info", ttt.last_epoch, ttt.text(), "none.",
                   _ttt_numbers(ttt))


def _ttt_numbers(ttt: TimeToTarget) -> dict[str, float | int | str | None]:
    return {"metric": ttt.metric, "target": ttt.target, "status": ttt.status,
            "epoch": ttt.epoch, "low": ttt.low, "high": ttt.high, "horizon": ttt.horizon,
            "model": ttt.model, "rate": ttt.rate}


def _loss_label(ctx: Context) -> str:
    assert ctx.loss is not None
    return "train loss" if ctx.loss.name == "train_loss" else "train_err (per batch)"


def _long(w: int, s: Series, ctx: Context) -> int:
    """The longer window: half the run, at most two trend windows (a stall stays visible)."""
    return min(max(w, len(s) // 2), 2 * ctx.th.trend_window)
