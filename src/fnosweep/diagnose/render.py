"""A trial's diagnosis as markdown, in the seeds' register: numbers, then cause, then action.

Each section answers one of the seeds' questions. Text is wrapped at 100 columns and uses
no tables, so it reads in a terminal as well as rendered.
"""

from __future__ import annotations

import math
import textwrap

from fnosweep.diagnose import claims, fmt
from fnosweep.diagnose.context import Context, build_context, change_text
from fnosweep.diagnose.findings import COVERED, FINDING_CODES, Diagnosis, Finding
from fnosweep.diagnose.series import Series
from fnosweep.history import History
from fnosweep.spec.thresholds import Thresholds

WIDTH = 100


_GLUE = "\x00"  # holds "97 %" together while wrapping, turned back into a space after


def para(text: str) -> str:
    return _wrap(text)


def bullet(text: str, mark: str = "-") -> str:
    return _wrap(text, f"{mark} ", " " * (len(mark) + 1))


def _wrap(text: str, first: str = "", rest: str = "") -> str:
    glued = text.replace(" %", _GLUE + "%").replace(" ×", _GLUE + "×")
    wrapped = textwrap.fill(glued, WIDTH, initial_indent=first, subsequent_indent=rest,
                            break_on_hyphens=False)
    return wrapped.replace(_GLUE, " ")


def render_trial(diagnosis: Diagnosis, history: History, *, title: str | None = None,
                 error: str | None = None) -> str:
    """The diagnosis of one run as markdown text; `error` is a failed trial's stored error
    (its traceback), shown at the end. Each finding's evidence appears once, in the section
    that answers its question; each action once, under "What to change"."""
    target = _target(diagnosis)
    ctx = build_context(history, Thresholds(), target, _metric(diagnosis))
    out = [f"# {title or 'Diagnosis'}: {diagnosis.verdict}", "", para(run_line(ctx)), ""]
    if not history.epochs:
        failed = "; the trial failed before its first epoch ended" if error else ""
        out.append(para(f"Nothing to judge: the history has no epochs{failed}."))
        return "\n".join(out + _error(error)).rstrip() + "\n"
    out += ["## Findings", ""]
    out += [_index(f) for f in diagnosis.findings] or ["- none"]
    sections = [_loss(diagnosis, ctx), _gradients(diagnosis, ctx), _normal(diagnosis, ctx),
                _how_long(diagnosis, ctx), _change(diagnosis)]
    for heading, paragraphs in sections:
        out += ["", f"## {heading}", ""]
        out += ["\n\n".join(paragraphs)]
    if diagnosis.not_judged:
        out += ["", "## Not judged", ""] + [bullet(t) for t in diagnosis.not_judged]
    return "\n".join(out + _error(error)).rstrip() + "\n"


LOSS_CODES = ("diverged", "plateau", "overfitting", "eval_mismatch", "nonfinite_skipped",
              "lr_restart", "converged")
GRADIENT_CODES = ("exploding_gradients", "gradient_growth", "heavy_clipping")
PACE_CODES = ("learning_slowly", "time_to_target")
"""Which section answers each finding (overparameterized: the model-size section)."""


ERROR_LINES = 30
"""Last lines of a stored traceback that the text shows (the exception is at the end)."""


def _error(error: str | None) -> list[str]:
    if not error or not error.strip():
        return []
    lines = error.rstrip().splitlines()
    shown = lines[-ERROR_LINES:]
    cut = [f"Last {len(shown)} of {len(lines)} lines:", ""] if len(shown) < len(lines) else []
    return ["", "## Error", "", *cut, "```", *shown, "```"]


def run_line(ctx: Context) -> str:
    r = ctx.run
    parts = []
    if r.n_params:
        parts.append(f"{r.n_params:,} parameters")
    if r.n_train:
        parts.append(f"{r.n_train:,} training samples")
    if r.params_per_sample:
        parts.append(f"{r.params_per_sample:,.0f} parameters per sample")
    named = [("batch", r.batch_size), ("optimizer", r.optimizer), ("lr", fmt.sci(r.lr)),
             ("weight decay", fmt.sci(r.weight_decay) if r.weight_decay is not None else None),
             ("clip", fmt.clip(r.clip_threshold) if r.clip_threshold is not None else None),
             ("scheduler", r.scheduler), ("loss", r.loss), ("budget", r.epochs)]
    parts += [f"{k} {v}" for k, v in named if v not in (None, "n/a")]
    eps = ctx.history.epochs
    if eps:
        parts.append(f"{len(eps)} epoch{'s' if len(eps) > 1 else ''} "
                     f"({fmt.epochs(eps[0].epoch, eps[-1].epoch)})")
    return "Run: " + " · ".join(parts) + "."


def _index(f: Finding) -> str:
    where = f" (epoch {f.epoch})" if f.epoch is not None else ""
    return bullet(f"{f.severity} · {f.code}{where}: {FINDING_CODES[f.code]}")


def _evidence(d: Diagnosis, codes: tuple[str, ...]) -> list[str]:
    return [para(f"**{f.code.replace('_', ' ')}**: {f.evidence}") for f in d.findings
            if f.code in codes]


def _loss(d: Diagnosis, ctx: Context) -> tuple[str, list[str]]:
    heading = "Is the loss decreasing?"
    if ctx.loss is None:
        return heading, [para(_absent(ctx, ("train_loss", "train_err"), "training loss")),
                         *_evidence(d, LOSS_CODES)]
    nums = [change_text(ctx.loss, "train loss (per sample)" if ctx.loss.name == "train_loss"
                        else "train_err (per batch)")]
    batch = [e.train_err for e in ctx.history.epochs
             if e.train_err is not None and math.isfinite(e.train_err)]
    if ctx.loss.name == "train_loss" and len(batch) >= 2:
        nums.append(f"train_err (neuralop's per-batch sum, = batch size × per sample) "
                    f"{fmt.num(batch[0])} → {fmt.num(batch[-1])}")
    if ctx.eval is not None:
        nums.append("eval " + change_text(ctx.eval))
    answer = _cap(claims.trend_text(ctx.loss.points, ctx.th.trend_z))
    found = _evidence(d, LOSS_CODES)
    return heading, [para(f"{answer}: " + "; ".join(nums) + "."), *found]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _absent(ctx: Context, fields: tuple[str, ...], what: str) -> str:
    """No finite value: NaN is a value the run recorded, not a missing field."""
    recorded = [getattr(e, f) for e in ctx.history.epochs for f in fields
                if getattr(e, f) is not None]
    if recorded:
        return (f"Every recorded {what} is non-finite ({fmt.num(recorded[0])} at epoch "
                f"{ctx.history.epochs[0].epoch}).")
    return f"The history has no {what}."


def _gradients(d: Diagnosis, ctx: Context) -> tuple[str, list[str]]:
    heading = "Do the gradients grow?"
    if ctx.grad is None:
        recorded = any(e.grad_norm for e in ctx.history.epochs)
        return heading, [para("Every recorded gradient norm is non-finite." if recorded else
                              "Not measured: the history has no grad_norm.")]
    answer = "The norm: " + claims.trend_text(ctx.grad.points, ctx.th.trend_z)
    nums = [f"pre-clip gradient norm {ctx.grad.name} per epoch: {_listing(ctx.grad)}"]
    if not ctx.clipping:
        nums.append("no clip threshold")
    elif ctx.clip is not None:
        e, last = ctx.clip.points[-1]
        nums.append(f"share of steps clipped: {_listing(ctx.clip, pct=True)}; clipped "
                    f"{claims.share_text(last)} in epoch {e}")
    return heading, [para(f"{answer}; " + "; ".join(nums) + "."), *_evidence(d, GRADIENT_CODES)]


def _normal(d: Diagnosis, ctx: Context) -> tuple[str, list[str]]:
    heading = "Is this normal for this data and model size?"
    problems = [f for f in d.findings if f.severity == "problem"]
    lead = ("No: " + ", ".join(f.code.replace("_", " ") for f in problems) + "."
            if problems else "Yes, for what is measured.")
    text = [lead]
    size = d.by_code("overparameterized")
    if size is not None:
        text.append(f"Model size ({size.severity}): {size.evidence}")
    elif ctx.run.params_per_sample is not None:
        text.append(f"Model size: {ctx.run.params_per_sample:,.0f} parameters per training "
                    "sample" + (f", below the {ctx.th.overparam_ratio:,.0f} threshold."
                                if ctx.run.params_per_sample < ctx.th.overparam_ratio else
                                ", above the threshold but not judged a problem: eval reached "
                                "the target or the model is already small."))
    else:
        text.append("Model size: not judged (the run line lacks n_params or n_train).")
    if ctx.eval is not None:
        e_last, last = ctx.eval.points[-1]
        first = ctx.eval.values[0]
        where = ("at or below" if last <= ctx.target else
                 claims.compare(last, ctx.target, "above", "below"))
        line = (f"Eval {ctx.eval.name} {fmt.num(last)} at epoch {e_last} is {where} the target "
                f"{fmt.num(ctx.target)}.")
        if abs(first - 1.0) < 0.02 and ctx.eval.name.lower().endswith("l2"):
            line += (f" It started at {fmt.num(first)} ≈ 1.0, the relative L2 of a zero output: "
                     "the model began near zero.")
        text.append(line)
    return heading, [para(t) for t in text]


def _how_long(d: Diagnosis, ctx: Context) -> tuple[str, list[str]]:
    f = d.by_code("learning_slowly") or d.by_code("time_to_target")
    heading = "How long until a good loss?"
    if f is None:
        return heading, [para("Not estimated: no loss or eval curve to fit.")]
    text = [f.evidence]
    status = f.numbers.get("status")
    if d.verdict in ("diverged", "exploding_gradients") and status != "reached":
        text.append("At this rate, not at all: an unstable run does not follow its curve; "
                    "estimate again after the changes below.")
    elif status in ("projected", "not_within") and ctx.loss is not None and len(ctx.loss) >= 4:
        drops = _drops(ctx.loss)
        if drops[-1] < 2 * min(drops[:-1]) and drops[-1] < 0:
            text.append(f"The curve is accelerating (per-epoch change {fmt.pct(drops[0])} at "
                        f"the start, {fmt.pct(drops[-1])} in the last epoch); the fit assumes a "
                        "steady or slowing rate, so the estimate is on the long side.")
    return heading, [para(t) for t in text]


def _change(d: Diagnosis) -> tuple[str, list[str]]:
    """The resolved actions (one per knob) grouped by the finding they come from, each once;
    then the actions of warnings that change no setting."""
    lines = []
    for f in d.findings:
        kept = [st.text for st in f.steps if st in d.actions]
        if kept:
            lines.append(f"{f.code.replace('_', ' ')}: " + "; ".join(kept) + ".")
        elif (f.severity != "info" and not f.steps and f.action != "none."
              and not f.action.startswith(COVERED)):
            lines.append(f"{f.code.replace('_', ' ')}: {f.action}")
    if not lines:
        return "What to change", ["Nothing: no finding asks for a change."]
    return "What to change", ["\n".join(bullet(t, f"{i}.") for i, t in enumerate(lines, 1))]


def _f(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) else None


def _drops(s: Series) -> list[float]:
    v = s.values
    return [(b - a) / a for a, b in zip(v, v[1:], strict=False) if a]


def _listing(s: Series, pct: bool = False, keep: int = 12) -> str:
    show = (lambda v: fmt.pct(v, signed=False)) if pct else fmt.num
    pts = s.points
    if len(pts) <= keep:
        return ", ".join(show(v) for _, v in pts) + f" ({fmt.epochs(pts[0][0], pts[-1][0])})"
    head = ", ".join(f"{show(v)}" for _, v in pts[:3])
    tail = ", ".join(f"{show(v)}" for _, v in pts[-4:])
    return f"{head}, …, {tail} ({fmt.epochs(pts[0][0], pts[-1][0])})"


def _target(d: Diagnosis) -> float | None:
    for f in d.findings:
        t = f.numbers.get("target")
        if isinstance(t, int | float):
            return float(t)
    return None


def _metric(d: Diagnosis) -> str | None:
    for f in d.findings:
        m = f.numbers.get("metric")
        if isinstance(m, str) and m not in ("train_loss", "train_err"):
            return m
    return None
