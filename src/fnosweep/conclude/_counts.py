"""Counts that say what they count: complete / pruned by which rule / failed, and the
verdicts of stopped runs apart from finished ones. One wording for the run's summary, the
report's header and the sweep conclusion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from fnosweep.conclude._outcome import prune_rule

Outcome = tuple[str, "str | None", "str | None"]
"""(state, verdict, reason) of one trial: what the counts below count."""


def state_counts(outcomes: Iterable[Outcome]) -> str:
    """`16 trials: 7 complete, 9 pruned (5 diverged, 4 median pruner), 0 failed`."""
    rows = list(outcomes)
    states = Counter(s for s, _, _ in rows)
    rules = Counter(prune_rule(r) for s, _, r in rows if s == "PRUNED")
    parts = [f"{states['COMPLETE']} complete"]
    if states["PRUNED"]:
        by = ", ".join(f"{n} {rule}" for rule, n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0])))
        parts.append(f"{states['PRUNED']} pruned ({by})")
    else:
        parts.append("0 pruned")
    parts.append(f"{states['FAIL']} failed")
    others = sorted(s for s in states if s not in ("COMPLETE", "PRUNED", "FAIL"))
    parts += [f"{states[s]} {s.lower()}" for s in others]
    return f"{len(rows)} trial{'s' if len(rows) != 1 else ''}: " + ", ".join(parts)


def verdict_counts(outcomes: Iterable[Outcome]) -> str:
    """`Verdicts: healthy 6, plateau 1 of the 7 complete; diverged 5, healthy 4 of the 9 pruned
    (as of the epoch each was stopped)`: a pruned run's verdict is not a finished run's."""
    rows = list(outcomes)
    parts = []
    for state, name, note in (("COMPLETE", "complete", ""), ("PRUNED", "pruned", " (as of the epoch each was stopped)"),
                              ("FAIL", "failed", "")):  # fmt: skip
        count = Counter(v or "no verdict" for s, v, _ in rows if s == state)
        if count:
            listing = ", ".join(f"{v} {n}" for v, n in sorted(count.items(), key=lambda kv: (-kv[1], kv[0])))
            parts.append(f"{listing} of the {sum(count.values())} {name}{note}")
    return "Verdicts: " + "; ".join(parts) if parts else "Verdicts: no finished trial yet"
