"""Stable and unstable regions of a sweep: per searched knob, bins and verdict shares.

Learning rates and other knobs that span decades get log bins (decades, or half-decades
when the span is two decades or less); knobs with a few values, and categorical ones, get
one bin per value. A bin is *safe* when it holds `region_min_trials` trials and none of
them was unstable (diverged, exploding gradients) or failed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fnosweep.diagnose import fmt
from fnosweep.diagnose.thresholds import UNSTABLE

BAD = (*UNSTABLE, "failed")


@dataclass(frozen=True)
class Bin:
    label: str
    n: int
    verdicts: Mapping[str, int]
    low: float | None = None
    high: float | None = None
    choice: Any = None
    best_value: float | None = None
    safe: bool = False

    @property
    def unstable(self) -> int:
        return sum(self.verdicts.get(v, 0) for v in BAD)

    @property
    def share(self) -> float:
        return self.unstable / self.n if self.n else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "n": self.n, "verdicts": dict(self.verdicts),
                "low": self.low, "high": self.high, "choice": self.choice,
                "best_value": self.best_value, "safe": self.safe, "unstable": self.unstable}


@dataclass(frozen=True)
class KnobRegion:
    knob: str
    kind: str
    """``log``, ``linear`` or ``categorical``."""
    bins: tuple[Bin, ...]

    def to_json(self) -> dict[str, Any]:
        return {"knob": self.knob, "kind": self.kind, "bins": [b.to_json() for b in self.bins]}


Row = tuple[Any, str, float | None]
"""(knob value, verdict, objective value) of one finished trial."""


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def knob_region(knob: str, rows: Sequence[Row], min_trials: int, minimize: bool) -> KnobRegion:
    values = [v for v, _, _ in rows]
    if not all(is_number(v) for v in values) or len(set(values)) <= 6:
        kind, edges = "categorical", None
    else:
        kind, edges = _edges(values)
    groups: dict[str, list[Row]] = {}
    bounds: dict[str, tuple[float | None, float | None, Any]] = {}
    order = _order(values) if edges is None else None
    for row in rows:
        if edges is None:
            label = _label(row[0])
            bounds[label] = (None, None, row[0])
        else:
            # the top bin is closed: lr = 1e-1 at the top of a 1e-5..1e-1 search is in 1e-2–1e-1
            i = min(max(j for j in range(len(edges)) if row[0] >= edges[j] or j == 0),
                    len(edges) - 2)
            lo, hi = edges[i], edges[i + 1]
            label = f"{_edge(lo, kind)}–{_edge(hi, kind)}"
            bounds[label] = (lo, hi, None)
        groups.setdefault(label, []).append(row)
    labels = (sorted(groups, key=lambda k: order.index(bounds[k][2])) if order is not None
              else sorted(groups, key=lambda k: bounds[k][0] or 0.0))
    bins = tuple(_bin(lab, groups[lab], bounds[lab], min_trials, minimize) for lab in labels)
    return KnobRegion(knob, kind, bins)


def _bin(label: str, rows: list[Row], bound: tuple[float | None, float | None, Any],
         min_trials: int, minimize: bool) -> Bin:
    verdicts = Counter(v for _, v, _ in rows)
    values = [x for _, _, x in rows if x is not None and math.isfinite(x)]
    best = (min(values) if minimize else max(values)) if values else None
    bad = sum(verdicts.get(v, 0) for v in BAD)
    return Bin(label, len(rows), dict(verdicts), bound[0], bound[1], bound[2], best,
               safe=len(rows) >= min_trials and bad == 0)


def _edges(values: list[Any]) -> tuple[str, list[float]]:
    lo, hi = min(values), max(values)
    if lo > 0 and hi / lo >= 20:
        step = 1.0 if math.log10(hi / lo) > 2 else 0.5
        a = math.floor(math.log10(lo) / step) * step
        edges: list[float] = []
        while not edges or edges[-1] < hi * (1 - 1e-9):
            edges.append(float(f"{10 ** a:.6g}"))  # 1e-4 exactly, not 1.0000000000000002e-4
            a += step
        return "log", edges
    width = (hi - lo) / 4 or 1.0
    return "linear", [lo + i * width for i in range(4)] + [hi + 1e-12 * max(abs(hi), 1.0)]


def _edge(x: float, kind: str) -> str:
    if kind == "log":
        return fmt.sci(float(f"{x:.1g}"), 1)
    return fmt.num(x, 3)


def _label(value: Any) -> str:
    """A category as a reader wants it: `null`, `cosine`, `1.0`; a sampled float (a few trials
    of a continuous lr) to 3 significant digits, not 0.0012520653814999472."""
    if value is None:
        return "null"
    text = str(value)
    return f"{value:.3g}" if isinstance(value, float) and len(text) > 8 else text


def _order(values: list[Any]) -> list[Any]:
    distinct = list(dict.fromkeys(values))
    if all(is_number(v) for v in distinct):
        return sorted(distinct)
    return sorted(distinct, key=lambda v: (v is not None, str(v)))


def summarize(region: KnobRegion) -> str:
    """``lr: 1e-4–1e-3 safe (4/4 stable); 1e-2–1e-1 unstable (3 of 4: exploding_gradients 2,
    diverged 1)``."""
    parts = []
    for b in region.bins:
        if b.unstable == 0:
            tag = "safe" if b.safe else "stable"
            parts.append(f"{b.label} {tag} ({b.n}/{b.n} stable)")
        else:
            bad = ", ".join(f"{v} {b.verdicts[v]}" for v in BAD if b.verdicts.get(v))
            tag = "unstable" if b.share >= 0.5 else "mixed"
            parts.append(f"{b.label} {tag} ({b.unstable} of {b.n} unstable: {bad})")
    return f"{region.knob}: " + "; ".join(parts)


def bad_bins(region: KnobRegion) -> list[Bin]:
    """Bins to avoid: mostly unstable, and at least twice as unstable as the knob's best bin
    (so a knob whose instability comes from the lr it was paired with is not blamed)."""
    counted = [b for b in region.bins if b.n >= 2] or list(region.bins)
    floor = min(b.share for b in counted)
    return [b for b in region.bins if b.share >= 0.5 and b.share >= 2 * floor and b.share > floor]
