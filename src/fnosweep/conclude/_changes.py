""""What to change": from the attribution, never from a knob's bins alone.

The cause's stable region is recommended; another knob only when it shows an effect inside
that region; a knob whose bins looked unstable on their own only because the cause rode
along is named as left as searched, with the counts that clear it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fnosweep.conclude._explain import phrase, short
from fnosweep.conclude._outcome import BAD
from fnosweep.conclude._regions import KnobRegion, bad_bins, label, value_text
from fnosweep.diagnose import fmt

if TYPE_CHECKING:
    from fnosweep.conclude._conclusion import SweepConclusion, SweepTrial


def with_changes(c: SweepConclusion) -> SweepConclusion:
    changes = _stability_changes(c) + _objective_changes(c)
    if c.best is not None:
        changes.append(f"start from trial {c.best.number} ({params_text(c.best.params)}), "
                       f"verdict {c.best.verdict}.")
        if c.best.ttt is not None and c.best.ttt.status == "not_within":
            changes.append(f"budget: the best trial reaches {fmt.num(c.target)} only after "
                           f"~{_epoch(c.best.ttt.epoch)} epochs; raise training.epochs or the lr.")
    if c.best_diagnosis is not None:
        changes += [f"best trial, {f.code.replace('_', ' ')}: {f.action}"
                    for f in c.best_diagnosis.findings if f.severity == "problem"]
    return replace(c, changes=tuple(changes))


def _stability_changes(c: SweepConclusion) -> list[str]:
    a = c.attribution
    if a is None or a.status == "no_instability":
        return []
    looked_bad = {r.knob: r for r in c.regions if bad_bins(r)}
    if a.status == "cannot_tell":
        return [f"stability: {a.bad} of {a.n} trials {'was' if a.bad == 1 else 'were'} unstable, too few "
                "to tell which knob causes it; every knob is left as searched. Run more trials before "
                "narrowing the space."]
    assert a.cause is not None
    p = phrase(a.cause, c.bins)
    if len(a.cause.knobs) == 1:
        edge = a.cause.edge
        top = bool(edge) and edge[1] > edge[0]  # type: ignore[index]
        finer = (f" (the {'lowest' if top else 'highest'} unstable {short(a.cause.knobs[0])} there was "
                 f"{value_text(edge[1])}; the nearest stable trial {'below' if top else 'above'} it had "
                 f"{value_text(edge[0])})" if edge else "")
        out = [f"{a.cause.knobs[0]}: keep to {p.stable}{finer} — {p.bad_in} of {p.n_in} trials "
               f"unstable at {p.unstable}, {p.bad_out} of {p.n_out} elsewhere."]
    else:
        out = [f"{' × '.join(a.cause.knobs)}: avoid {p.unstable} — {p.bad_in} of {p.n_in} trials "
               f"unstable there, {p.bad_out} of {p.n_out} elsewhere."]
    for o in a.others:
        if o.effect is not None:
            q = phrase(o.effect, c.bins)
            out.append(f"{o.knob}: also avoid {q.unstable} — {q.bad_in} of {q.n_in} trials unstable "
                       f"there even {p.where}.")
        elif o.knob in looked_bad:
            seen = ", ".join(b.label for b in bad_bins(looked_bad[o.knob]))
            effect = "no effect" if o.bad == 0 else "no clear effect"
            out.append(f"{o.knob}: left as searched — {short(o.knob)} {seen} looked unstable, but "
                       f"{short(o.knob)} has {effect} {p.once} ({o.n} trials there, {o.bad} unstable).")
    return out


def _objective_changes(c: SweepConclusion) -> list[str]:
    imp = c.importance
    if imp is None or not imp.values:
        return []
    knob, value = next(iter(imp.values.items()))
    if value < 1 / len(imp.values):
        return []
    return [f"{knob}: matters most for {c.metric} among the stable trials (PED-ANOVA {value:.2f} "
            f"over {imp.n}); --suggest narrows it towards the best trials' values."]


def params_text(params: Mapping[str, Any]) -> str:
    """``training.lr=3.162e-4, training.batch_size=16``: 4 significant digits at most."""
    return ", ".join(f"{k}={value_text(v)}" for k, v in params.items())


def _epoch(e: float | None) -> str:
    return "never" if e is None or not math.isfinite(e) else f"{e:,.0f}"


_PARTNERS = ("clip_threshold", "scheduler.type", "scheduler")


def interactions(done: Sequence[SweepTrial], verdict: Mapping[int, str],
                 regions: tuple[KnobRegion, ...]) -> tuple[str, ...]:
    """Per lr bin, the unstable share for each clip threshold and scheduler value."""
    lr = next((r for r in regions if r.knob.rsplit(".", 1)[-1] == "lr" and r.kind == "log"), None)
    partners = [r.knob for r in regions if r.knob.endswith(_PARTNERS)]
    if lr is None or not partners:
        return ()
    lines = []
    for b in lr.bins:
        inside = [t for t in done if lr.knob in t.params and b.low is not None
                  and b.high is not None and _in_bin(t.params[lr.knob], b.low, b.high, lr)]
        cells = []
        for knob in partners:
            per: dict[str, list[str]] = {}
            for t in inside:
                per.setdefault(label(t.params.get(knob)), []).append(verdict[t.number])
            name = "scheduler" if knob.endswith("scheduler.type") else knob.rsplit(".", 1)[-1]
            cells += [f"{name} {v} {sum(x in BAD for x in vs)}/{len(vs)}"
                      for v, vs in sorted(per.items())]
        if cells:
            lines.append(f"lr {b.label}: " + ", ".join(cells) + " unstable")
    return tuple(lines)


def _in_bin(v: Any, low: float, high: float, region: KnobRegion) -> bool:
    top = region.bins[-1].high
    return low <= v < high or (high == top and v == high)
