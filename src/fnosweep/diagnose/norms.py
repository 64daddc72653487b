"""The gradient norm and clipping as the rules measure and quote them: growth against a
reference, clipped streaks, the p95 norm, and the texts that cite them."""

from __future__ import annotations

from dataclasses import dataclass

from fnosweep.diagnose import fmt
from fnosweep.diagnose.context import Context
from fnosweep.diagnose.series import Series
from fnosweep.history import FNO_TOP_GROUPS


@dataclass(frozen=True)
class Growth:
    stat: str
    ref: float
    ref_text: str
    ref_epoch: int
    last: float
    last_epoch: int

    @property
    def factor(self) -> float:
        return self.last / self.ref


def growth(ctx: Context) -> Growth | None:
    g = ctx.grad
    if g is None or not g.points:
        return None
    last_epoch, last = g.points[-1]
    earlier = [(e, v) for e, v in g.points[:-1] if v > 0]
    if ctx.first_norm is not None and (not earlier or ctx.first_norm <= min(v for _, v in earlier)):
        return Growth(g.name, ctx.first_norm, "first step", g.points[0][0], last, last_epoch)
    if not earlier:
        return None
    ref_epoch, ref = min(earlier, key=lambda p: p[1])
    return Growth(g.name, ref, f"epoch {ref_epoch}", ref_epoch, last, last_epoch)


def clipped_streak(clip: Series | None, fraction: float) -> int:
    """Epochs in a row, up to the last, with at least `fraction` of steps clipped."""
    n = 0
    for v in reversed(clip.values if clip else []):
        if v < fraction:
            break
        n += 1
    return n


def norm_text(ctx: Context, gr: Growth) -> str:
    g = ctx.grad
    assert g is not None
    first_e, first_v = g.points[0]
    # a first epoch's norm can be 0 (no step taken, a frozen model): growth() skips it
    change = fmt.factor(gr.last / first_v) if first_v > 0 else "up from 0"
    text = (f"pre-clip gradient norm {gr.stat} {fmt.num(first_v)} → {fmt.num(gr.last)} "
            f"({change}) over {fmt.epochs(first_e, gr.last_epoch)}")
    if ctx.gmax and gr.stat != "max":
        text += f", max {fmt.num(ctx.gmax.values[-1])}"
    if gr.ref_text == "first step":
        text += f"; first step {fmt.num(gr.ref)} → {fmt.factor(gr.factor)} growth"
        if ctx.gmax:
            text += f" ({fmt.factor(max(ctx.gmax.values) / gr.ref)} to the max)"
    elif gr.ref_epoch != first_e:
        text += (f"; from its low {fmt.num(gr.ref)} at epoch {gr.ref_epoch}: "
                 f"{fmt.factor(gr.factor)}")
    return text


def clip_text(ctx: Context) -> str:
    if not ctx.clipping:
        return "no clip threshold"
    if ctx.clip is None:
        return "no clip fraction recorded"
    e, v = ctx.clip.points[-1]
    thr = ctx.run.clip_threshold
    at = f" at {fmt.clip(thr)}" if thr is not None else ""
    text = f"{fmt.pct(v, signed=False)} of steps clipped{at} in epoch {e}"
    earlier = [f"{fmt.pct(c, signed=False)} in epoch {ep}" for ep, c in ctx.clip.points[-3:-1]]
    return text + (f" ({', '.join(earlier)})" if earlier else "")


def group_text(ctx: Context) -> str:
    """Which layer group carries the gradient, when the monitor measured groups."""
    groups = ctx.history.epochs[-1].groups if ctx.history.epochs else {}
    top = [(k, s) for k, s in groups.items() if k in FNO_TOP_GROUPS and s.get("max") is not None]
    if not top:
        return ""
    name, s = max(top, key=lambda kv: kv[1]["max"] or 0.0)
    return f"; largest group {name} (mean {fmt.num(s.get('mean'))}, max {fmt.num(s.get('max'))})"


def p95(ctx: Context) -> float | None:
    """The last epoch's p95 pre-clip norm (the max, then the median, when it was not kept)."""
    last = ctx.history.epochs[-1].grad_norm if ctx.history.epochs else {}
    for k in ("p95", "max", "median"):
        v = last.get(k)
        if v is not None and v == v and v != float("inf"):
            return v
    return None


def clip_start_text(ctx: Context) -> str:
    if ctx.clip is None:
        return "no clip fraction recorded"
    started = [e for e, v in ctx.clip.points if v > 0]
    thr = fmt.clip(ctx.run.clip_threshold) if ctx.run.clip_threshold else "its threshold"
    if not started:
        return f"no step clipped at {thr} yet"
    first = started[0]
    if len(started) <= 2 and started[-1] == ctx.clip.points[-1][0]:
        return (f"clipping at {thr} began in epoch {first} "
                f"({fmt.pct(ctx.clip.values[-1], signed=False)} of steps)")
    return clip_text(ctx)
