"""Gradient rules: explosion (a problem), growth that clipping still holds, heavy clipping.

Growth is the last epoch's pre-clip norm against a reference: the first step's norm when
the monitor recorded it (seed 000: 0.078), else the smallest earlier epoch value. Growth
alone is not explosion: a norm that rises while training speeds up (seed 001, 29x) is held
by clipping; explosion is growth by an order of magnitude *and* clipping on most steps for
`explode_min_epochs` epochs in a row *and* the epoch norm still growing
(`explode_epoch_growth` over the last `trend_window` epochs: a norm that jumped within a
fresh model's first epoch and then stayed flat is heavy clipping), in a run that stopped
improving (neither its training loss nor its eval got better over those epochs). Without
clipping, two orders of magnitude while rising, in a run that stopped improving too.
"""

from __future__ import annotations

from collections.abc import Collection

from fnosweep.diagnose import fmt
from fnosweep.diagnose.context import Context, Result
from fnosweep.diagnose.curve import rising_streak, trend
from fnosweep.diagnose.findings import Finding, Severity, Step, action_text
from fnosweep.diagnose.norms import (
    Growth,
    clip_start_text,
    clip_text,
    clipped_streak,
    group_text,
    growth,
    norm_text,
    p95,
)


def is_explosion(ctx: Context, gr: Growth) -> bool:
    """What the run shows, whether or not it still improves: a norm up by an order of
    magnitude under heavy clipping that stopped the run improving, or one still growing by
    that much epoch after epoch (the pruning policy decides whether to let it run)."""
    th = ctx.th
    if not ctx.clipping:  # nothing confirms clipping gave up: ask for two orders of magnitude
        return (gr.factor >= th.explode_growth_unclipped and _rising(ctx)
                and (not still_learning(ctx) or sustained(ctx, th.explode_growth_unclipped)))
    streak = clipped_streak(ctx.clip, th.explode_clip_fraction)
    return (gr.factor >= th.explode_growth and streak >= th.explode_min_epochs
            and epoch_growth(ctx) >= th.explode_epoch_growth
            and (not still_learning(ctx) or sustained(ctx, th.explode_growth)))


def sustained(ctx: Context, factor: float) -> bool:
    """The epoch norm itself (not a fresh model's first step) grew `factor` from its lowest
    epoch and still rises: growth that a falling loss does not excuse."""
    g = ctx.grad
    if g is None or len(g) < 3:
        return False
    low = min(v for v in g.values[:-1]) if g.values[:-1] else 0.0
    return low > 0 and g.values[-1] / low >= factor and _rising(ctx)


def epoch_growth(ctx: Context) -> float:
    """The last epoch's norm over the lowest of the `trend_window` epochs before it (1.0 with
    one epoch): growth now, not since a fresh model's first epochs, so a long run's norm
    that settled above its start while converging does not count."""
    g = ctx.grad
    earlier = [v for _, v in g.points[-1 - ctx.th.trend_window : -1] if v > 0] if g else []
    return g.points[-1][1] / min(earlier) if g and earlier else 1.0


def still_learning(ctx: Context) -> bool:
    """The training loss or the eval improved over the last `explode_min_epochs` epochs
    (fewer in a short run): their best beats every earlier epoch by `explode_learning_gain`.
    The training loss is what clipping fights for, so it counts on its own: a small test
    set's eval can wobble for an epoch or two while the loss keeps falling."""
    for s in (ctx.loss, ctx.eval):
        if s is None or len(s) < 2:
            continue
        window = min(ctx.th.explode_min_epochs, len(s) - 1)
        earlier, recent = s.values[:-window], s.values[-window:]
        if min(recent) < min(earlier) * (1 - ctx.th.explode_learning_gain):
            return True
    return False


def _rising(ctx: Context) -> bool:
    g = ctx.grad
    if g is None or len(g) < 2:
        return False
    t = trend(g.points, ctx.th.trend_window)
    return (t is not None and t.rising(ctx.th.trend_z)) or rising_streak(g.values) >= 2


def gradient_rule(ctx: Context, found: Collection[str] = ()) -> Result:
    if ctx.grad is None:
        recorded = any(e.grad_norm for e in ctx.history.epochs)
        return [], ["gradients: every recorded grad_norm is non-finite" if recorded else
                    "gradients: the history has no grad_norm (pre-clip norm per epoch)"]
    missing = [] if ctx.clip or ctx.run.clip_threshold is None else [
        "clipping: the history has no clip_fraction; explosion then needs "
        f"{fmt.factor(ctx.th.explode_growth_unclipped)} growth"]
    gr = growth(ctx)
    if gr is None:
        return [], missing + ["gradient growth: one epoch of gradient norms, nothing to compare"]
    findings: list[Finding] = []
    if is_explosion(ctx, gr):
        findings.append(_explosion(ctx, gr))
    elif gr.factor >= ctx.th.grad_warn_growth and _rising(ctx):
        findings.append(_growth_warning(ctx, gr))
    last_clip = ctx.last_clip()
    exploded = bool(findings) and findings[0].code == "exploding_gradients"
    # A diverged run's norm is the divergence's, not the clip's scale: no clip advice then.
    if (not exploded and "diverged" not in found and last_clip is not None
            and last_clip >= ctx.th.explode_clip_fraction):
        findings.append(_heavy_clipping(ctx, gr))
    if not ctx.clipping and ctx.clip is not None:
        missing.append("clipping: clip fractions recorded without a clip threshold or a clipped "
                       "step; judged as an unclipped run")
    return findings, missing


def _explosion(ctx: Context, gr: Growth) -> Finding:
    run = ctx.run
    lr = ctx.lr_value()
    steps = []
    if lr:
        steps.append(Step("lr", "lower", f"lower lr from {fmt.sci(lr)} to {fmt.sci(fmt.lower(lr))} (÷3)"))
    else:
        steps.append(Step("lr", "lower", "lower the lr (÷3)"))
    thr = run.clip_threshold
    if thr is None or thr > 1.0:
        steps.append(Step("clip", "lower",
                          f"clip at 1.0 rather than {fmt.clip(thr) if thr else 'not at all'}"))
    else:
        steps.append(Step("clip", "lower", f"clip at {fmt.clip(thr / 2)} rather than {fmt.clip(thr)}"))
    if (run.scheduler or "").lower() in ("step", "steplr", "none", "constant", ""):
        steps.append(Step("scheduler", "set",
                          f"use a plateau scheduler (ReduceLROnPlateau) rather than "
                          f"{run.scheduler or 'none'}, so the lr falls as soon as the loss stalls"))
    if run.batch_size and run.batch_size <= 8:
        steps.append(Step("batch_size", "raise", f"batch_size {run.batch_size} → "
                                                  f"{run.batch_size * 2} for steadier gradients"))
    evidence = f"{norm_text(ctx, gr)}; {clip_text(ctx)}{group_text(ctx)}"
    if ctx.clipping:
        cause = (" — each step is rescaled to the clip threshold, so the norm feeds on itself "
                 "(larger steps, steeper region, larger gradients)")
    else:
        cause = " — no clip threshold caps the steps, so the norm feeds on itself"
    if still_learning(ctx):
        cause += "; the loss still improves, but the norm keeps growing epoch after epoch"
    return Finding("exploding_gradients", "problem", _start(ctx), evidence + cause + ".",
                   action_text(steps), _numbers(ctx, gr), tuple(steps))


def _growth_warning(ctx: Context, gr: Growth) -> Finding:
    g = ctx.grad
    assert g is not None
    th = ctx.th
    streak = rising_streak(g.values)
    since = g.points[-1 - streak][0]
    evidence = norm_text(ctx, gr)
    if streak >= 2:
        evidence += f", rising every epoch since epoch {since} ({streak} in a row)"
    lr = ctx.lr_value()
    steps: list[Step] = []
    if ctx.clipping:
        evidence += f"; {clip_start_text(ctx)}{group_text(ctx)}"
        heavy = clipped_streak(ctx.clip, th.explode_clip_fraction)
        if heavy >= th.explode_min_epochs:
            evidence += (f"; more than {fmt.pct(th.explode_clip_fraction, signed=False)} of steps "
                         f"clipped for {heavy} epochs while the loss still improves")
            watch = f"if the norm grows another {fmt.factor(th.explode_growth)}"
        else:
            evidence += "; the clip caps what it lets through"
            watch = (f"if clipping passes {fmt.pct(th.explode_clip_fraction, signed=False)} of "
                     f"steps for {th.explode_min_epochs} epochs or the norm grows another "
                     f"{fmt.factor(th.explode_growth)}")
        keep = f"keep lr {fmt.sci(lr)}" if lr else "keep the lr"
        text = (f"{keep} while the loss falls; {watch}, lower lr"
                + (f" to {fmt.sci(fmt.lower(lr, 2))} (÷2)" if lr else " (÷2)"))
    else:
        evidence += f"{group_text(ctx)}; no clip threshold, so nothing caps the steps"
        text = f"keep lr {fmt.sci(lr)} while the loss falls" if lr else "keep the lr while it falls"
        steps.append(Step("clip", "set", f"clip the gradient norm near its p95 "
                                         f"({fmt.num(p95(ctx))}) so a spike cannot throw the weights"))
    steps.insert(0, Step("lr", "keep", text))
    return Finding("gradient_growth", "warning", since, evidence + ".", action_text(steps),
                   _numbers(ctx, gr) | {"rising_epochs": streak}, tuple(steps))


def _heavy_clipping(ctx: Context, gr: Growth) -> Finding:
    """Most steps clipped, the norm not growing. neuralop's losses are summed over the batch,
    so the norm scales with the batch size and a clip below its natural level cuts every
    step. For Adam that is harmless (it normalises the step; a uniform rescaling barely
    changes it); for SGD the clip becomes the step length. Either way it is about the clip's
    scale, not the lr."""
    thr = ctx.run.clip_threshold
    top = p95(ctx)
    over = f" ({fmt.factor(gr.last / thr)} the threshold)" if thr else ""
    # "not growing" only where it holds: a norm 10x its first step under a short streak of
    # clipping is no explosion by the rule, but it did grow.
    grew = (f"not growing {fmt.factor(ctx.th.explode_growth)}" if gr.factor < ctx.th.explode_growth
            else f"{fmt.factor(gr.factor)} its {gr.ref_text} ({fmt.num(gr.ref)})")
    evidence = f"{clip_text(ctx)}; pre-clip norm {gr.stat} {fmt.num(gr.last)}{over}, {grew}"
    near = f"clip near the p95 norm ({fmt.num(top)})" if top else "clip near the norm it cuts"
    if ctx.adaptive:
        evidence += (f": the clip sits below the norm's natural level (a batch-summed loss "
                     f"scales it with the batch size); {ctx.run.optimizer} normalises its "
                     "step, so clipping every step barely changes the update")
        severity: Severity = "info"
        text = f"none needed for the lr; to make the clip a guard rather than a rescale, {near}"
    elif ctx.sgd:
        evidence += ": every step is rescaled, so the clip, not the gradient, sets the step "
        evidence += "length (lr × clip threshold)"
        severity = "warning"
    else:  # the run line does not name the optimizer: say what it means for each kind
        evidence += (": every step is rescaled — for SGD the clip then sets the step length "
                     "(lr × clip threshold); an Adam-like optimizer normalises it away")
        severity = "warning"
    if not ctx.adaptive:
        text = f"{near} so that the step follows the gradient again"
    return Finding("heavy_clipping", severity, ctx.clip.points[-1][0] if ctx.clip else None,
                   evidence + ".", text + ".", _numbers(ctx, gr) | {"p95": top},
                   (Step("clip", "set", text),))


def _start(ctx: Context) -> int | None:
    """First epoch of the trailing heavy-clipping stretch."""
    n = clipped_streak(ctx.clip, ctx.th.explode_clip_fraction)
    if ctx.clip and n:
        return ctx.clip.points[-n][0]
    return ctx.grad.points[-1][0] if ctx.grad else None


def _numbers(ctx: Context, gr: Growth) -> dict[str, float | int | str | None]:
    return {
        "stat": gr.stat, "reference": gr.ref, "reference_at": gr.ref_text, "last": gr.last,
        "growth": round(gr.factor, 3), "max": ctx.gmax.values[-1] if ctx.gmax else None,
        "clip_fraction": ctx.last_clip(), "clip_threshold": ctx.run.clip_threshold,
        "clipped_epochs": clipped_streak(ctx.clip, ctx.th.explode_clip_fraction),
    }
