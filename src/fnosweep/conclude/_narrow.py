"""A narrowed search space for a follow-up sweep (``--suggest FILE``), from the attribution.

Same shape as a spec's ``search`` section. Only knobs with evidence are narrowed:
- the cause of the instability (`_attribution`), to the values of the stable trials on its
  safe side (for a pair, the one knob whose restriction keeps more stable trials);
- a knob that shows an effect inside the cause's stable region, likewise;
- knobs that matter for the objective among the stable trials (PED-ANOVA importance at
  least an even share), to the better half (`keep`) of those trials.
Every other knob is left as searched (its apparent effect, if any, is the cause's). A
range is the span of the kept trials' values, inside the original range; a single value
is widened (x/÷2 on a log scale, ±25 % otherwise) so the new sweep still searches.
Conditions (``when``) follow the narrowed parents: a value the parent can no longer take is
dropped from the condition, and a parameter none of whose condition values is left is
dropped from the space (the field keeps the spec's value, unused there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fnosweep.conclude._attribution import Rule
from fnosweep.conclude._conclusion import Evidence, SweepTrial, evidence
from fnosweep.conclude._outcome import BAD
from fnosweep.conclude._regions import Binning, is_number
from fnosweep.spec.thresholds import Thresholds

_LOG_HINTS = ("lr", "learning_rate", "weight_decay", "eps")

Keep = Callable[[SweepTrial], bool]


def suggest_space(trials: Sequence[SweepTrial], *, direction: str = "minimize",
                  space: Mapping[str, Mapping[str, Any]] | None = None,
                  thresholds: Thresholds | None = None,
                  keep: float = 0.5) -> dict[str, dict[str, Any]]:
    """The search space narrowed where the evidence says; raises ValueError with no stable trial.

    Without `space` (the spec's search section), only the narrowed knobs are returned."""
    ev = evidence(trials, direction=direction, thresholds=thresholds or Thresholds(), space=space)
    done = [t for t in ev.done if t.state in ("COMPLETE", "PRUNED")]
    stable = [t for t in done if ev.outcomes[t.number] not in BAD]
    if not stable:
        raise ValueError(f"no stable trial among {len(done)} finished ones to narrow the "
                         "search space to; widen the space towards lower lr instead")
    restricted = _restrictions(ev, stable)
    kept = [t for t in stable if all(ok(t) for ok in restricted.values())]
    important = _important(ev)
    best = _best_part(kept, direction, keep)
    knobs = list(space) if space is not None else [k for k in ev.bins if k in restricted or k in important]
    out: dict[str, dict[str, Any]] = {}
    for knob in knobs:
        original = dict(space[knob]) if space is not None else {}
        source = best if knob in important else kept if knob in restricted else []
        values = [t.params[knob] for t in source if knob in t.params]
        if values:
            out[knob] = _narrow(knob, values, original)
        elif space is not None:
            out[knob] = original  # no evidence, or never active: left as searched
    return settle_conditions(out)


def _restrictions(ev: Evidence, stable: list[SweepTrial]) -> dict[str, Keep]:
    """Knob -> which stable trials its narrowing keeps: the cause's, and other knobs' with an effect."""
    a = ev.attribution
    if a.cause is None:
        return {}
    out: dict[str, Keep] = {}
    options = [(k, _keeper(a.cause, k, ev)) for k in a.cause.knobs]
    knob, ok = max(options, key=lambda kv: sum(kv[1](t) for t in stable))  # first wins a tie
    out[knob] = ok
    for o in a.others:
        if o.effect is not None:
            out[o.knob] = _keeper(o.effect, o.knob, ev)
    return out


def _keeper(rule: Rule, knob: str, ev: Evidence) -> Keep:
    """The trials a narrowing of `knob` alone keeps out of `rule`'s unstable cells: for an
    ordered knob unstable at one end, everything on the safe side of the nearest unstable
    trial (a mixed bin keeps its stable trials there); else the bins no unstable cell uses."""
    b = ev.bins[knob]
    i = rule.knobs.index(knob)
    bad_labels = {c.labels[i] for c in rule.unstable}
    labels = [b.label(j) for j in range(b.size)]
    bad_idx = sorted(labels.index(lab) for lab in bad_labels if lab in labels)
    if len(rule.knobs) == 1 and b.kind != "categorical" and bad_idx and len(bad_idx) == len(bad_labels):
        unstable = [t.params[knob] for t in ev.done if knob in t.params
                    and ev.outcomes[t.number] in BAD and _label(b, t.params[knob]) in bad_labels]
        if bad_idx == list(range(bad_idx[0], b.size)):  # unstable at the top
            low = min(unstable)
            return lambda t: knob not in t.params or t.params[knob] < low
        if bad_idx == list(range(bad_idx[-1] + 1)):  # unstable at the bottom
            high = max(unstable)
            return lambda t: knob not in t.params or t.params[knob] > high
    return lambda t: knob not in t.params or _label(b, t.params[knob]) not in bad_labels


def _label(b: Binning, value: Any) -> str:
    return b.label(b.index(value))


def _important(ev: Evidence) -> set[str]:
    values = ev.importance.values
    if not values:
        return set()
    return {k for k, v in values.items() if v >= 1 / len(values)}


def settle_conditions(search: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`search` (a spec's search section) with each ``when`` kept to the values its parent
    can still take, and the parameters whose condition can no longer hold left out (and
    those conditional on a parameter left out)."""
    out = {k: dict(v) for k, v in search.items()}
    changed = True
    while changed:  # a dropped parameter can make its children's conditions impossible
        changed = False
        for key, body in list(out.items()):
            when = body.get("when")
            if not isinstance(when, Mapping):
                continue
            kept = {parent: [v for v in _listed(values) if _can_take(out.get(parent), v)]
                    for parent, values in when.items()}
            if any(not values for values in kept.values()):
                del out[key]
                changed = True
            elif kept != {p: _listed(v) for p, v in when.items()}:
                out[key] = {**body, "when": kept}
    return out


def _listed(values: Any) -> list[Any]:
    return list(values) if isinstance(values, list | tuple) else [values]


def _can_take(parent: Mapping[str, Any] | None, value: Any) -> bool:
    """Whether a searched parameter (a search entry) can take `value`."""
    if parent is None:
        return False
    if parent.get("type") == "categorical":
        return any(value == c and isinstance(value, bool) == isinstance(c, bool)
                   for c in parent.get("choices") or ())
    if not (isinstance(value, int | float) and not isinstance(value, bool)):
        return False
    low, high, step = (_number(parent.get(k)) for k in ("low", "high", "step"))
    if low is None or high is None or not low <= value <= high:
        return False
    step = step or (1.0 if parent.get("type") == "int" else None)
    return step is None or abs((value - low) / step - round((value - low) / step)) < 1e-9


def _number(x: Any) -> float | None:
    """A bound as a number: PyYAML reads ``1e-3`` as a string, which the spec accepts."""
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return float(x) if is_number(x) else None


def _best_part(stable: list[SweepTrial], direction: str, keep: float) -> list[SweepTrial]:
    scored = [t for t in stable if t.value is not None and math.isfinite(t.value)]
    if len(scored) < 4:
        return stable
    sign = 1.0 if direction == "minimize" else -1.0
    scored.sort(key=lambda t: sign * (t.value or 0.0))
    return scored[: max(3, math.ceil(keep * len(scored)))]


def _narrow(knob: str, values: list[Any], original: dict[str, Any]) -> dict[str, Any]:
    kind = original.get("type")
    if kind == "categorical" or not all(is_number(v) for v in values):
        order = original.get("choices") or sorted(set(values), key=repr)
        return {**original, "type": "categorical", "choices": [c for c in order if c in values]}
    is_int = kind == "int" or (kind is None and all(isinstance(v, int) for v in values))
    log = bool(original.get("log", kind is None and _looks_log(knob, values)))
    low, high = float(min(values)), float(max(values))
    if low == high:
        low, high = (low / 2, high * 2) if log and low > 0 else (low * 0.75, high * 1.25)
    if "low" in original:
        low = max(low, float(original["low"]))
    if "high" in original:
        high = min(high, float(original["high"]))
    out: dict[str, Any] = {**original, "type": "int" if is_int else "float"}
    step, base, top = (_number(original.get(k)) for k in ("step", "low", "high"))
    if step is not None and step > 0 and base is not None:
        # the spec wants high - low a multiple of step: snap outwards onto the original grid
        low = base + math.floor((low - base) / step + 1e-9) * step
        high = base + math.ceil((high - base) / step - 1e-9) * step
        if top is not None:
            high = min(high, top)
        out |= ({"low": round(low), "high": round(high)} if is_int
                else {"low": round(low, 12), "high": round(high, 12)})
    elif is_int:
        out |= {"low": math.floor(low), "high": math.ceil(high)}
    else:  # rounded outwards, but never past the original bounds (which the spec accepted)
        out |= {"low": max(_round(low, up=False), float(original.get("low", -math.inf))),
                "high": min(_round(high, up=True), float(original.get("high", math.inf)))}
    if log:
        out["log"] = True
    return out


def _looks_log(knob: str, values: list[Any]) -> bool:
    positive = all(v > 0 for v in values)
    name = knob.rsplit(".", 1)[-1]
    return positive and (name in _LOG_HINTS or max(values) / min(values) >= 10)


def _round(x: float, up: bool) -> float:
    """Three significant digits, rounded outwards so the range still holds its trials."""
    if x == 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(abs(x))) - 2)
    rounded = (math.ceil(x / scale) if up else math.floor(x / scale)) * scale
    return float(f"{rounded:.3g}")  # 1.1e-4, not 0.00010999999999999999
