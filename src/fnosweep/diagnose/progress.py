"""Is the run learning? Plateau vs converged vs slow, and overfitting vs both stalling.

- plateau: the training loss (and eval) never fell `plateau_min_progress` from the start and
  shows no real downward trend (Mann-Kendall over the window: a noisy but falling loss has
  one); or it did fall but has been flat for `plateau_patience` epochs with eval still above
  the target (stalled). Flat after real progress with eval at the target is ``converged``.
- overfitting: eval `overfit_eval_rise` above its best for `overfit_patience` epochs while the
  training loss kept falling; eval worsening with a flat training loss is not overfitting.
(learning_slowly, the pace, is pace.py's.)
"""

from __future__ import annotations

from collections.abc import Collection

from fnosweep.diagnose import claims, fmt
from fnosweep.diagnose.context import Context, Result, change_text
from fnosweep.diagnose.curve import Trend, level, trend
from fnosweep.diagnose.findings import Finding, Step, action_text
from fnosweep.diagnose.series import Series


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


def plateau_rule(ctx: Context, found: Collection[str] = ()) -> Result:
    th = ctx.th
    if ctx.loss is None:
        return [], [f"plateau: {ctx.no_loss()}"]
    if len(ctx.loss) < th.plateau_min_epochs:
        n = len(ctx.loss)
        return [], [f"plateau: {n} epoch{'s' if n != 1 else ''}; {th.plateau_min_epochs} are "
                    "needed to tell a plateau from a slow start"]
    if claims.direction(ctx.loss.points, th.trend_z) == "rises":
        return [], []  # a rising loss is instability (the divergence rule), never a plateau
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
        word = {"rises": "rising", "falls": "falling", "flat": "no real trend"}[
            claims.direction(ctx.loss.points, ctx.th.trend_z, ctx.th.trend_window)]
        evidence += (f"; over {fmt.epochs(t.first_epoch, t.last_epoch)} Theil–Sen "
                     f"{fmt.pct(t.rate)}/epoch, {word} (Mann–Kendall z {t.z:.1f})")
    if ctx.eval is not None:
        evidence += f"; eval {change_text(ctx.eval)}"
    last_clip = ctx.last_clip()
    lr = ctx.lr_value()
    grad_rises = ctx.grad is not None and claims.direction(
        ctx.grad.points, ctx.th.trend_z) == "rises"
    steps: tuple[Step, ...]
    if ctx.clipping and last_clip is not None and last_clip >= ctx.th.explode_clip_fraction \
            and ctx.sgd:
        cause = (f"; {fmt.pct(last_clip, signed=False)} of steps are clipped, and for SGD the "
                 "clip sets the step length")
        steps = (Step("clip", "raise", "clip near the p95 gradient norm so that the steps "
                                       "follow the gradient"),)
    elif grad_rises:
        cause = "; the gradient norm rises while the loss does not fall"
        steps = (Step("lr", "lower", f"lower lr from {fmt.sci(lr)} to {fmt.sci(fmt.lower(lr))} "
                                     "(÷3)" if lr else "lower the lr (÷3)"),)
    else:
        cause = "; the gradient norm does not rise, so the steps are too small to move the loss"
        steps = (Step("lr", "raise", f"raise lr from {fmt.sci(lr)} to {fmt.sci(lr * 3)} (×3)"
                      if lr else "raise the lr (×3)"),
                 Step("data", "check", "if a higher lr does not move it either, check the data "
                                       "normalisation and that the targets are learnable (a "
                                       "relative L2 of 1.0 is a zero output)"))
    return Finding("plateau", "problem", ctx.loss.points[0][0], evidence + cause + ".",
                   action_text(steps),
                   {"progress": round(progress(ctx.loss), 4),
                    "rate": None if t is None else round(t.rate, 5),
                    "z": None if t is None else round(t.z, 2)}, steps)


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
                        f"{head}; eval {ctx.eval.name} {fmt.num(ev)} (median of the last 3 "
                        f"epochs) ≤ target {fmt.num(ctx.target)}: converged.",
                        "none needed; stop here." if _decayed(ctx) else
                        "none needed; stop here or decay the lr for the last digits.", numbers)]
    lr = ctx.lr_value()
    lr_now = ctx.lr.values[-1] if ctx.lr else None
    decayed = _decayed(ctx)
    if decayed:
        steps: tuple[Step, ...] = (Step("model", "raise", f"the lr already fell from {fmt.sci(lr)} "
                                    f"to {fmt.sci(lr_now)}, so capacity (hidden_channels, n_modes) "
                                    "or data (n_train) limits it: try a wider model or more "
                                    "samples"),)
    else:
        steps = (Step("lr", "lower", f"decay the lr when it stalls (plateau scheduler, factor "
                                     f"0.3, patience {th.plateau_patience}"
                      + (f"; from {fmt.sci(lr)} to {fmt.sci(fmt.lower(lr))}" if lr else "") + ")"),
                 Step("model", "check", "if a lower lr does not move it, capacity "
                                        "(hidden_channels, n_modes) or data (n_train) limits it"))
    return [Finding("plateau", "problem", t_loss.first_epoch,
                    f"{head}; eval {ctx.eval.name} {fmt.num(ev)} (median of the last 3 epochs), "
                    f"{fmt.factor(ev / ctx.target)} the target {fmt.num(ctx.target)}: stalled.",
                    action_text(steps), numbers, steps)]


def _decayed(ctx: Context) -> bool:
    """The schedule already took the lr down 10x or more from its start."""
    lr = ctx.lr_value()
    return lr is not None and ctx.lr is not None and ctx.lr.values[-1] <= lr / 10


def overfitting_rule(ctx: Context, found: Collection[str] = ()) -> Result:
    th = ctx.th
    if "eval_mismatch" in found:
        return [], ["overfitting: eval does not follow the training loss (eval mismatch), so "
                    "the two are not compared"]
    if ctx.eval is None:
        return [], [f"overfitting: {ctx.no_eval()}"]
    if ctx.loss is None:
        return [], [f"overfitting: {ctx.no_loss()}, nothing to compare eval with"]
    pts = ctx.eval.points
    best_e, best = min(pts, key=lambda p: p[1])
    after = [(e, v) for e, v in pts if e > best_e]
    if len(after) < th.overfit_patience or best <= 0:
        return [], []
    last_e, last = after[-1]
    rise = level([v for _, v in after], at_end=True) / best - 1
    # the training loss at the best-eval epoch, or the last one recorded before it
    train_e, train_at_best = next((p for p in reversed(ctx.loss.points) if p[0] <= best_e),
                                  ctx.loss.points[0])
    train_now = level(ctx.loss.values, at_end=True)
    drop = (train_at_best - train_now) / train_at_best if train_at_best else 0.0
    if rise < th.overfit_eval_rise or drop < th.overfit_train_drop:
        return [], []
    now_e, now = ctx.loss.points[-1]
    evidence = (f"eval {ctx.eval.name} best {fmt.num(best)} at epoch {best_e} → {fmt.num(last)} "
                f"at epoch {last_e} ({fmt.pct(last / best - 1)}) while train loss "
                f"{fmt.num(train_at_best)} at epoch {train_e} → {fmt.num(now)} at epoch {now_e} "
                f"({fmt.pct((now - train_at_best) / train_at_best) if train_at_best else 'n/a'})"
                ": the model fits the training set better and the test set worse")
    wd = ctx.run.weight_decay
    steps: list[Step] = []
    if best_e > ctx.history.epochs[0].epoch:
        steps.append(Step("checkpoint", "set", f"keep the epoch-{best_e} checkpoint (stop on "
                                               f"{ctx.eval.name})"))
    else:
        steps.append(Step("checkpoint", "set", f"stop on {ctx.eval.name}: its best came in the "
                                               "first epoch, so early stopping alone does not help"))
    steps.append(Step("weight_decay", "raise", "raise weight_decay " + (
        f"from {fmt.sci(wd)} to {fmt.sci(wd * 10)} (×10)" if wd else "to 1e-4")))
    steps.append(Step("model", "lower", "fewer parameters (hidden_channels, n_modes) or more "
                                        "training samples"))
    return [Finding("overfitting", "problem", best_e, evidence + ".", action_text(steps),
                    {"best": best, "best_epoch": best_e, "last": last, "eval_rise": round(rise, 4),
                     "train_drop": round(drop, 4)}, tuple(steps))], []


def _loss_label(ctx: Context) -> str:
    assert ctx.loss is not None
    return "train loss" if ctx.loss.name == "train_loss" else "train_err (per batch)"


def _long(w: int, s: Series, ctx: Context) -> int:
    """The longer window: half the run, at most two trend windows (a stall stays visible)."""
    return min(max(w, len(s) // 2), 2 * ctx.th.trend_window)
