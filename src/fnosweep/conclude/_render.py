"""The sweep's conclusion as markdown: outcome, regions, best, pruning, time, changes."""

from __future__ import annotations

from fnosweep.conclude._changes import params_text
from fnosweep.conclude._conclusion import SweepConclusion
from fnosweep.conclude._counts import state_counts, verdict_counts
from fnosweep.conclude._explain import cause_lines, importance_lines
from fnosweep.conclude._regions import summarize
from fnosweep.conclude._summary import TrialSummary
from fnosweep.diagnose import fmt
from fnosweep.diagnose.render import bullet, para


def render_sweep(conclusion: SweepConclusion) -> str:
    """The conclusion of a sweep as markdown text."""
    c = conclusion
    out = [f"# Sweep conclusion: {c.metric} ({c.direction})", ""]
    interrupted = (f" ({c.interrupted} more attempts stopped by fnosweep and re-queued: not counted)"
                   if c.interrupted else "")
    out += [para(f"{state_counts(c.outcomes)}{interrupted}. {verdict_counts(c.outcomes)}."), ""]
    if c.attribution is not None:
        out += ["## What causes the instability", ""]
        for line in cause_lines(c.attribution, c.bins) + importance_lines(c.importance, c.metric):
            if line.startswith("- "):
                out.append(bullet(line[2:]))
            else:
                out += ["", para(line)] if out[-1] else [para(line)]
        out.append("")
    out += ["## Stable and unstable regions", ""]
    if c.regions:
        out += [bullet(summarize(r)) for r in c.regions]
        if c.interactions:
            out += ["", "Where instability sits, per lr bin (unstable / trials):", ""]
            out += [bullet(line) for line in c.interactions]
        out += ["", para("Safe: every trial in the bin was stable (no divergence, no exploding "
                         "gradients, no failure), with at least two trials.")]
    else:
        out.append("No knob took more than one value among the finished trials.")
    out += ["", "## Best configuration", ""]
    out.append(para(_best(c.best)) if c.best else "No trial completed with a value.")
    out += ["", "## Pruning and compute saved", ""]
    out += _pruning(c)
    out += ["", "## Time to target", ""]
    lines = [bullet(f"trial {t.number} ({fmt.num(t.value)}): {t.ttt.text()}")
             for t in c.top if t.ttt is not None]
    out += lines or ["No history to fit for the best trials."]
    out += ["", "## What to change", ""]
    out += [bullet(ch, f"{i}.") for i, ch in enumerate(c.changes, 1)] or ["Nothing."]
    return "\n".join(out).rstrip() + "\n"


def _best(t: TrialSummary) -> str:
    return (f"Trial {t.number}: {fmt.num(t.value)} after {t.epochs} epochs, verdict "
            f"{t.verdict}; {params_text(t.params)}.")


def _curve_reason(reason: str) -> str:
    return reason.split(":", 1)[-1].strip().rstrip(".") or "no reason stored"


CURVE_LINES = 10
"""Curve-pruned trials listed with their numbers; the rest are named (each in `--trial N`)."""


def _pruning(c: SweepConclusion) -> list[str]:
    n = sum(c.pruned.values())
    if not n:
        text = "No trial was pruned."
    else:
        reasons = ", ".join(f"{r} {k}" for r, k in sorted(c.pruned.items(), key=lambda kv: -kv[1]))
        text = f"{n} {'trial' if n == 1 else 'trials'} pruned: {reasons}."
    text += f" Epochs run: {c.epochs_run:,}"
    if c.epochs_budget:
        finished = sum(c.states.get(s, 0) for s in ("COMPLETE", "PRUNED", "FAIL"))
        full = c.epochs_budget * finished
        saved = c.epochs_saved or 0
        text += (f"; without pruning the {finished} finished trials would have run {full:,} "
                 f"({finished} × {c.epochs_budget}); pruning saved {saved:,} epochs "
                 f"({fmt.pct(saved / full if full else 0.0, signed=False)}).")
    else:
        text += " (no epoch budget given, so the saving is not computed)."
    lines = [para(text)]
    if c.curve_prunes:  # each with its numbers: epoch, projection, best
        lines += ["", "The curve pruner stopped:", ""]
        lines += [bullet(f"trial {number}: {_curve_reason(reason)}.")
                  for number, reason in c.curve_prunes[:CURVE_LINES]]
        rest = [str(number) for number, _ in c.curve_prunes[CURVE_LINES:]]
        if rest:
            lines.append(bullet(f"and {len(rest)} more: trials {', '.join(rest)} "
                                "(`--trial N` gives each)."))
    return lines
