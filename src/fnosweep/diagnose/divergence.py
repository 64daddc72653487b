"""Divergence, told apart from the loss bump of a learning-rate jump.

Diverged: any non-finite loss, gradient or eval value; or a finite training loss that ends
`diverge_loss_factor` times above its best. A cosine warm restart or a step-up of the lr
bumps the loss too, but right after the lr jumped, and the loss comes back within
`restart_recover_epochs`: that is reported as a note (``lr_restart``), not a problem.
Non-finite steps that the monitor's guard skipped (`skip_nonfinite`), in an epoch that
stayed finite, are a warning (``nonfinite_skipped``): the bad batches never reached the
weights.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from fnosweep.diagnose import claims, fmt
from fnosweep.diagnose.context import Context, Result
from fnosweep.diagnose.curve import trend
from fnosweep.diagnose.findings import Finding, Step, action_text
from fnosweep.diagnose.series import guarded_epochs, nonfinite_epochs


def lr_jumps(ctx: Context) -> list[tuple[int, float, float]]:
    """(epoch, lr before, lr after) for each epoch whose lr jumped up."""
    if ctx.lr is None:
        return []
    pts = ctx.lr.points
    return [(e, a, b) for (_, a), (e, b) in zip(pts, pts[1:], strict=False)
            if a > 0 and b >= ctx.th.lr_jump * a]


def diverged_rule(ctx: Context, found: Collection[str] = ()) -> Result:
    missing = [] if ctx.lr else [
        "lr schedule: the history has no lr, so a loss bump cannot be matched to a restart"]
    bad = nonfinite_epochs(ctx.history)
    if bad:
        return [_nonfinite(ctx, bad)], missing
    guarded = _guarded(ctx)
    if ctx.loss is None:
        return guarded, missing + [f"divergence of the loss: {ctx.no_loss()}"]
    absurd = _absurd_loss(ctx)
    if absurd is not None:
        return [absurd], missing
    findings = guarded + _restarts(ctx)
    blowup = _blowup(ctx)
    if blowup is None and not any(f.code == "lr_restart" for f in findings):
        blowup = _climbing(ctx)
    if blowup is not None:
        findings.append(blowup)
    return findings, missing


def _nonfinite(ctx: Context, bad: list[tuple[int, str]]) -> Finding:
    epoch, what = bad[0]
    before = [(e, v) for e, v in (ctx.loss.points if ctx.loss else []) if e < epoch]
    evidence = f"epoch {epoch}: {what}"
    if before:
        evidence += f"; last finite train loss {fmt.num(before[-1][1])} at epoch {before[-1][0]}"
    else:
        evidence += "; no epoch before it was finite"
    if len(bad) > 1:
        evidence += f"; non-finite again in {len(bad) - 1} later epoch(s)"
    data = _bad_data(ctx, epoch)
    steps: tuple[Step, ...]
    if data:
        evidence += f"; {data}: bad data, not a step too large"
        steps = (Step("data", "check", "look for NaN or Inf in the inputs and targets (and a "
                                       "division by a zero std in the normalisation) before "
                                       "touching the lr"),)
    else:
        steps = _steps(ctx, 10, restart=_finite_before(ctx, epoch))
    return Finding("diverged", "problem", epoch, evidence + ".", action_text(steps),
                   {"epoch": epoch, "nonfinite_epochs": len(bad)}, steps)


def _bad_data(ctx: Context, epoch: int) -> str:
    """Why a non-finite value looks like bad data: it came in the first epoch, with no finite
    loss before it and a small gradient norm at the first step (an lr too high needs steps to
    grow the norm first)."""
    if epoch != ctx.history.epochs[0].epoch:
        return ""
    first = ctx.history.epochs[0].grad_norm.get("first")
    if first is not None and math.isfinite(first) and first < 10 * (ctx.run.clip_threshold or 1.0):
        return f"non-finite from the first epoch with a first-step gradient norm of {fmt.num(first)}"
    rec = ctx.history.epochs[0]
    if rec.steps and rec.nonfinite_steps and rec.nonfinite_steps >= rec.steps:
        return "every step of the first epoch non-finite"
    return ""


def _guarded(ctx: Context) -> list[Finding]:
    epochs = guarded_epochs(ctx.history)
    if not epochs:
        return []
    skipped = sum(n for _, n, _ in epochs)
    steps = sum(s or 0 for _, _, s in epochs)
    share = f" ({fmt.pct(skipped / steps, signed=False)} of their {steps:,} steps)" if steps else ""
    evidence = (f"{skipped:,} step(s) with a non-finite loss or gradient skipped by the guard in "
                f"{len(epochs)} epoch(s), {fmt.epochs(epochs[0][0], epochs[-1][0])}{share}; "
                "every recorded value stayed finite: bad samples in the data, kept out of the "
                "weights")
    act = (Step("data", "check", "find the samples with NaN or huge values (the guard keeps "
                                 "them out of the weights, but they are lost steps)"),)
    return [Finding("nonfinite_skipped", "warning", epochs[0][0], evidence + ".", action_text(act),
                    {"skipped_steps": skipped, "steps": steps or None, "epochs": len(epochs)}, act)]


def _steps(ctx: Context, by: float, restart: bool = True) -> tuple[Step, ...]:
    lr = ctx.lr_value()
    out = [Step("lr", "lower", f"lower lr from {fmt.sci(lr)} to {fmt.sci(fmt.lower(lr, by))} "
                               f"(÷{by:g})" if lr else f"lower the lr (÷{by:g})")]
    thr = ctx.run.clip_threshold
    out.append(Step("clip", "set", "clip the gradient norm at 1.0") if thr is None or thr > 1.0 else
               Step("clip", "keep", f"keep the clip at {fmt.clip(thr)}"))
    if restart:
        out.append(Step("checkpoint", "set", "restart from the last finite checkpoint rather "
                                             "than continuing"))
    return tuple(out)


def _finite_before(ctx: Context, epoch: int) -> bool:
    """A checkpoint worth going back to: a finite epoch after the first, before `epoch`."""
    return any(i > 0 and e.epoch < epoch for i, e in enumerate(ctx.history.epochs)
               if e.train_loss is not None and math.isfinite(e.train_loss))


def _absurd_loss(ctx: Context) -> Finding | None:
    """A relative loss far above 1.0, the score of a zero output: the run left any useful basin,
    even if the loss later falls back (it is falling from absurd values, not learning)."""
    assert ctx.loss is not None
    if ctx.run.loss not in ("l2", "h1"):
        return None  # only relative losses have a scale to judge against
    hit = next(((e, v) for e, v in ctx.loss.points if v >= ctx.th.blowup_relative_loss), None)
    if hit is None:
        return None
    epoch, value = hit
    evidence = (f"relative {ctx.run.loss.upper()} train loss {fmt.num(value)} at epoch {epoch}, "
                f"where a zero output scores 1.0 ({fmt.factor(value)} of that)")
    first = next((r.grad_norm for r in ctx.history.epochs if r.epoch == epoch), {})
    if first.get("first") and first.get("max"):
        evidence += (f"; pre-clip gradient norm {fmt.num(first['first'])} at the first step → "
                     f"{fmt.num(first['max'])} max in epoch {epoch}")
    steps = _steps(ctx, 10, restart=_finite_before(ctx, epoch))
    return Finding("diverged", "problem", epoch, evidence + ".", action_text(steps),
                   {"epoch": epoch, "relative_loss": value}, steps)


def _blowup(ctx: Context) -> Finding | None:
    """A finite loss that ends far above its best and is not a restart's bump."""
    assert ctx.loss is not None
    pts = ctx.loss.points
    if len(pts) < 2:
        return None
    best_e, best = min(pts[:-1], key=lambda p: p[1])
    last_e, last = pts[-1]
    if best <= 0 or last / best < ctx.th.diverge_loss_factor:
        return None
    rise = next(e for e, v in pts if e > best_e and v >= ctx.th.diverge_loss_factor * best)
    jump = next((j for j in lr_jumps(ctx) if best_e < j[0] <= rise + 1), None)
    numbers = {"best": best, "best_epoch": best_e, "last": last, "factor": round(last / best, 3)}
    evidence = (f"train loss {fmt.num(best)} at epoch {best_e} → {fmt.num(last)} at epoch "
                f"{last_e} ({fmt.factor(last / best)}), still climbing")
    if jump is not None and last_e - jump[0] < ctx.th.restart_recover_epochs:
        return Finding("lr_restart", "warning", jump[0],
                       f"{evidence} after lr {fmt.sci(jump[1])} → {fmt.sci(jump[2])} at epoch "
                       f"{jump[0]}; not yet back to {fmt.num(best)} "
                       f"({last_e - jump[0] + 1} of {ctx.th.restart_recover_epochs} epochs).",
                       "watch the next epochs: a restart's bump comes back; if it keeps "
                       "climbing, lower the restart's peak lr (÷3).", numbers,
                       (Step("lr", "lower", "if it keeps climbing, lower the restart's peak lr "
                                            "(÷3)"),))
    if jump is not None:
        evidence += (f"; the lr jumped {fmt.sci(jump[1])} → {fmt.sci(jump[2])} at epoch "
                     f"{jump[0]} but the loss did not come back within "
                     f"{ctx.th.restart_recover_epochs} epochs")
    steps = _steps(ctx, 3, restart=_finite_before(ctx, rise))
    return Finding("diverged", "problem", rise, evidence + ".", action_text(steps), numbers, steps)


def _climbing(ctx: Context) -> Finding | None:
    """A training loss that rises for real (Mann-Kendall over the run) and ends
    `diverge_loss_rise` above its best: instability, never a plateau."""
    assert ctx.loss is not None
    pts = ctx.loss.points
    if len(pts) < 4 or claims.direction(pts, ctx.th.trend_z) != "rises":
        return None
    best_e, best = min(pts[:-1], key=lambda p: p[1])
    last_e, last = pts[-1]
    if best <= 0 or last < (1 + ctx.th.diverge_loss_rise) * best:
        return None
    t = trend(pts, len(pts))
    assert t is not None
    evidence = (f"train loss {fmt.num(best)} at epoch {best_e} → {fmt.num(last)} at epoch "
                f"{last_e} ({fmt.pct(last / best - 1)}), rising over the run (Theil–Sen "
                f"{fmt.pct(t.rate)}/epoch, Mann–Kendall z {t.z:.1f}): the steps make it worse")
    steps = _steps(ctx, 3, restart=_finite_before(ctx, last_e) and best_e > 0)
    return Finding("diverged", "problem", best_e, evidence + ".", action_text(steps),
                   {"best": best, "best_epoch": best_e, "last": last,
                    "factor": round(last / best, 3), "z": round(t.z, 2)}, steps)


def _restarts(ctx: Context) -> list[Finding]:
    """Notes on lr jumps whose loss bump came back: the schedule's, not divergence."""
    assert ctx.loss is not None
    loss = dict(ctx.loss.points)
    out = []
    for epoch, before, after in lr_jumps(ctx)[-3:]:
        pre = loss.get(epoch - 1)
        window = [(e, v) for e, v in ctx.loss.points
                  if epoch <= e < epoch + ctx.th.restart_recover_epochs]
        if pre is None or not window:
            continue
        peak_e, peak = max(window, key=lambda p: p[1])
        back = next((e for e, v in ctx.loss.points if e > peak_e and v <= 1.1 * pre), None)
        bump = fmt.factor(peak / pre) if pre > 0 else "n/a"  # a loss of 0 has no ratio
        text = (f"lr {fmt.sci(before)} → {fmt.sci(after)} ({fmt.factor(after / before)}) at "
                f"epoch {epoch}: train loss {fmt.num(pre)} → {fmt.num(peak)} "
                f"({bump}) at epoch {peak_e}")
        if peak <= pre:
            text += ", no bump"
        elif back is not None:
            text += f", back to ≤ {fmt.num(1.1 * pre)} by epoch {back}"
        else:
            continue  # not back (yet): the divergence check judges it
        out.append(Finding("lr_restart", "info", epoch,
                           text + ": the schedule's bump, not divergence.", "none needed.",
                           {"lr_before": before, "lr_after": after, "loss_before": pre,
                            "loss_peak": peak, "recovered_epoch": back}))
    return out
