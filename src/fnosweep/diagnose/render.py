"""A trial's diagnosis as markdown, in the seeds' register: numbers, then cause, then action.

Each section answers one of the seeds' questions. Text is wrapped at 100 columns and uses
no tables, so it reads in a terminal as well as rendered.
"""

from __future__ import annotations

import textwrap

from fnosweep.diagnose import fmt
from fnosweep.diagnose.context import Context, build_context, change_text
from fnosweep.diagnose.findings import Diagnosis, Finding
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
    (its traceback), shown at the end."""
    target = _target(diagnosis)
    ctx = build_context(history, Thresholds(), target, _metric(diagnosis))
    out = [f"# {title or 'Diagnosis'}: {diagnosis.verdict}", "", para(run_line(ctx)), ""]
    if not history.epochs:
        failed = "; the trial failed before its first epoch ended" if error else ""
        out.append(para(f"Nothing to judge: the history has no epochs{failed}."))
        return "\n".join(out + _error(error)).rstrip() + "\n"
    out += ["## Findings", ""]
    out += [_finding(f) for f in diagnosis.findings] or ["- none"]
    sections = [_loss(diagnosis, ctx), _gradients(diagnosis, ctx), _normal(diagnosis, ctx),
                _how_long(diagnosis, ctx), _change(diagnosis)]
    for heading, paragraphs in sections:
        out += ["", f"## {heading}", ""]
        out += ["\n\n".join(paragraphs)]
    if diagnosis.not_judged:
        out += ["", "## Not judged", ""] + [bullet(t) for t in diagnosis.not_judged]
    return "\n".join(out + _error(error)).rstrip() + "\n"


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
        parts.append(f"{len(eps)} epochs ({fmt.epochs(eps[0].epoch, eps[-1].epoch)})")
    return "Run: " + " · ".join(parts) + "."


def _finding(f: Finding) -> str:
    where = f" (epoch {f.epoch})" if f.epoch is not None else ""
    head = bullet(f"**{f.severity} · {f.code}**{where}: {f.evidence}")
    if f.severity == "info" and f.action in ("none.", "none needed."):
        return head
    return head + "\n" + _wrap(f"→ {f.action}", "  ", "    ")


def _loss(d: Diagnosis, ctx: Context) -> tuple[str, list[str]]:
    falling = d.verdict in ("healthy", "overparameterized", "learning_slowly", "overfitting")
    heading = "Is the loss decreasing?" if falling else "Why is the loss not decreasing?"
    if ctx.loss is None:
        return heading, [para("The history has no training loss.")]
    nums = [change_text(ctx.loss, "train loss (per sample)" if ctx.loss.name == "train_loss"
                        else "train_err (per batch)")]
    batch = [e.train_err for e in ctx.history.epochs if e.train_err is not None]
    if ctx.loss.name == "train_loss" and len(batch) >= 2:
        nums.append(f"train_err (neuralop's per-batch sum, = batch size × per sample) "
                    f"{fmt.num(batch[0])} → {fmt.num(batch[-1])}")
    if ctx.eval is not None:
        nums.append("eval " + change_text(ctx.eval) + _monotone(ctx.eval))
    shape = _shape(ctx.loss)
    text = [para("; ".join(nums) + "." + (f" {shape}" if shape else ""))]
    text.append(para(_loss_cause(d, ctx)))
    return heading, text


def _loss_cause(d: Diagnosis, ctx: Context) -> str:
    code = d.verdict
    f = d.by_code(code)
    moved = ""
    if ctx.loss is not None and len(ctx.loss) >= 2 and ctx.loss.values[0]:
        v = ctx.loss.values
        moved = f" (train loss {fmt.pct((v[-1] - v[0]) / v[0])} in {len(v)} epochs)"
    if code == "exploding_gradients" and f is not None:
        clip = ctx.last_clip()
        share = f"{fmt.pct(clip, signed=False)} of steps" if clip is not None else "most steps"
        return (f"Cause: the gradients explode (next section). With {share} clipped, every "
                "update has the clip threshold's length whatever the loss says, so the loss "
                f"stalls{moved} and eval drifts; fix the gradients first.")
    if code in ("diverged", "plateau", "overfitting", "learning_slowly") and f is not None:
        return f"Cause: {f.code.replace('_', ' ')} — {f.evidence}"
    conv = d.by_code("converged")
    if conv is not None:
        return f"It has converged: {conv.evidence}"
    warned = [f.code.replace("_", " ") for f in d.findings if f.severity == "warning"]
    tail = f"; watch the warning ({', '.join(warned)}) below." if warned else "."
    return "Yes, and nothing in the measurements stops it" + tail


def _gradients(d: Diagnosis, ctx: Context) -> tuple[str, list[str]]:
    grow = d.by_code("exploding_gradients") or d.by_code("gradient_growth")
    heading = "Why do the gradients grow?" if grow else "Do the gradients grow?"
    if ctx.grad is None:
        return heading, [para("Not measured: the history has no grad_norm.")]
    nums = [f"pre-clip gradient norm {ctx.grad.name} per epoch: {_listing(ctx.grad)}"]
    if ctx.clip is not None:
        nums.append(f"share of steps clipped: {_listing(ctx.clip, pct=True)}")
    text = [para("; ".join(nums) + ".")]
    if grow is None:
        heavy = d.by_code("heavy_clipping")
        text.append(para(f"No. {heavy.evidence}" if heavy else
                         "No: the norm does not rise steadily, and clipping is rare."))
        return heading, text
    if grow.code == "exploding_gradients":
        n = grow.numbers
        text.append(para(
            f"Cause: the norm grew {fmt.factor(_f(n.get('growth')))} from the "
            f"{n.get('reference_at')} ({fmt.num(_f(n.get('reference')))}) and clipping fires on "
            f"most steps for {n.get('clipped_epochs')} epochs in a row. Clipping at "
            f"{fmt.clip(_f(n.get('clip_threshold')))} caps each step's length, not the lr's "
            f"push: at lr {ctx.lr_text()} the steps reach steeper regions, whose larger "
            "gradients give larger steps — a feedback loop the clip only slows."))
    else:
        text.append(para(f"{grow.evidence} {_with_loss(ctx)}"))
    text.append(para(f"What to do: {grow.action}"))
    return heading, text


def _with_loss(ctx: Context) -> str:
    if ctx.loss is None or len(ctx.loss) < 3:
        return ""
    first, last = _drops(ctx.loss)[0], _drops(ctx.loss)[-1]
    if last >= first:
        return ""
    return (f"It rose while the loss fell faster (per-epoch change {fmt.pct(first)} → "
            f"{fmt.pct(last)}): growth that comes with faster learning and stays under the clip "
            "is the optimiser reaching steeper parts of the loss, not instability — yet.")


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
                    f"sample, below the {ctx.th.overparam_ratio:,.0f} threshold.")
    else:
        text.append("Model size: not judged (the run line lacks n_params or n_train).")
    if ctx.eval is not None:
        first, last = ctx.eval.values[0], ctx.eval.values[-1]
        where = "at or below" if last <= ctx.target else f"{fmt.factor(last / ctx.target)}"
        line = (f"Eval {ctx.eval.name} {fmt.num(last)} is {where} the target "
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
    acts = [f for f in d.findings if f.severity != "info"]
    if not acts:
        return "What to change", ["Nothing now; keep training and watch the warnings above."]
    lines = [bullet(f"{f.code.replace('_', ' ')}: {f.action}", f"{i}.")
             for i, f in enumerate(acts, 1)]
    return "What to change", ["\n".join(lines)]


def _f(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) else None


def _drops(s: Series) -> list[float]:
    v = s.values
    return [(b - a) / a for a, b in zip(v, v[1:], strict=False) if a]


def _monotone(s: Series) -> str:
    d = _drops(s)
    if len(d) >= 2 and all(x > 0 for x in d):
        return ", worse every epoch"
    if len(d) >= 2 and all(x < 0 for x in d):
        return ", better every epoch"
    return ""


def _shape(s: Series) -> str:
    d = _drops(s)
    if len(d) < 3:
        return ""
    if d[-1] > 0:
        return f"The last epoch went up ({fmt.pct(d[-1])})."
    if d[-1] < 2 * min(d[: len(d) // 2]):
        return (f"It is accelerating: per-epoch change {fmt.pct(d[0])} at epoch "
                f"{s.epochs[1]}, {fmt.pct(d[-1])} at epoch {s.epochs[-1]}.")
    return ""


def _listing(s: Series, pct: bool = False, keep: int = 12) -> str:
    show = (lambda v: fmt.pct(v, signed=False)) if pct else fmt.num
    pts = s.points
    if len(pts) <= keep:
        return ", ".join(show(v) for _, v in pts) + f" (epochs {pts[0][0]}–{pts[-1][0]})"
    head = ", ".join(f"{show(v)}" for _, v in pts[:3])
    tail = ", ".join(f"{show(v)}" for _, v in pts[-4:])
    return f"{head}, …, {tail} (epochs {pts[0][0]}–{pts[-1][0]})"


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
