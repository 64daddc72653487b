"""A narrowed search space for a follow-up sweep (``--suggest FILE``).

Same shape as a spec's ``search`` section. It covers the stable region: the better half
(`keep`) of the trials that neither diverged, exploded nor failed. Ranges are the span of
those trials' values, kept inside the original range when `space` gives it; a single value
is widened (x/÷2 on a log scale, ±25 % otherwise) so the new sweep still searches.
Conditions (``when``) follow the narrowed parents: a value the parent can no longer take is
dropped from the condition, and a parameter none of whose condition values is left is
dropped from the space (the field keeps the spec's value, unused there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from fnosweep.conclude._conclusion import SweepTrial, trial_verdict
from fnosweep.conclude._regions import BAD, is_number
from fnosweep.diagnose.thresholds import Thresholds

_LOG_HINTS = ("lr", "learning_rate", "weight_decay", "eps")


def suggest_space(trials: Sequence[SweepTrial], *, direction: str = "minimize",
                  space: Mapping[str, Mapping[str, Any]] | None = None,
                  thresholds: Thresholds | None = None,
                  keep: float = 0.5) -> dict[str, dict[str, Any]]:
    """The search space narrowed to the stable region; raises ValueError with no stable trial."""
    th = thresholds or Thresholds()
    done = [t for t in trials if t.state in ("COMPLETE", "PRUNED")]
    stable = [t for t in done if trial_verdict(t, th) not in BAD]
    if not stable:
        raise ValueError(f"no stable trial among {len(done)} finished ones to narrow the "
                         "search space to; widen the space towards lower lr instead")
    chosen = _best_part(stable, direction, keep)
    knobs = list(space) if space is not None else _searched(done)
    out: dict[str, dict[str, Any]] = {}
    for knob in knobs:
        values = [t.params[knob] for t in chosen if knob in t.params]
        if not values:
            if space is not None:
                out[knob] = dict(space[knob])  # conditional knob never active: keep as it was
            continue
        original = dict(space[knob]) if space is not None else {}
        out[knob] = _narrow(knob, values, original)
    return settle_conditions(out)


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


def _searched(done: list[SweepTrial]) -> list[str]:
    seen: dict[str, set[str]] = {}
    for t in done:
        for k, v in t.params.items():
            seen.setdefault(k, set()).add(repr(v))
    return [k for k, vals in seen.items() if len(vals) > 1]


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
    return (math.ceil(x / scale) if up else math.floor(x / scale)) * scale
