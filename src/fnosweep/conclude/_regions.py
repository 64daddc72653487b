"""Stable and unstable regions of a sweep: the ONE binning of a knob's values, and the
outcome each trial counts under. The written conclusion, the attribution and the report's
stability map all bin and count through this module.

Learning rates and other knobs that span decades get log bins (decades, or half-decades
when the span is two decades or less); knobs with a few values, and categorical ones, get
one bin per value. A bin is *safe* when it holds `region_min_trials` trials and none of
them was unstable (diverged, exploding gradients) or failed.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fnosweep.conclude._outcome import BAD
from fnosweep.diagnose import fmt


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Binning:
    """How one knob's values fall into bins (computed once from all the finished trials)."""

    kind: str
    """``log``, ``linear`` or ``categorical``."""
    edges: tuple[float, ...] = ()
    """Numeric kinds: bin i is [edges[i], edges[i+1]); the top bin is closed."""
    choices: tuple[Any, ...] = ()
    """Categorical: one bin per value, in display order."""

    @property
    def size(self) -> int:
        return len(self.choices) if self.kind == "categorical" else len(self.edges) - 1

    def index(self, value: Any) -> int:
        if self.kind == "categorical":
            return next(i for i, c in enumerate(self.choices) if _same(c, value))
        # the top bin is closed: lr = 1e-1 at the top of a 1e-5..1e-1 search is in 1e-2–1e-1
        return min(max(bisect.bisect_right(self.edges, value) - 1, 0), len(self.edges) - 2)

    def label(self, i: int) -> str:
        if self.kind == "categorical":
            return label(self.choices[i])
        return f"{_edge(self.edges[i], self.kind)}–{_edge(self.edges[i + 1], self.kind)}"

    def bounds(self, i: int) -> tuple[float | None, float | None, Any]:
        if self.kind == "categorical":
            return None, None, self.choices[i]
        return self.edges[i], self.edges[i + 1], None

    def ordered(self) -> bool:
        return self.kind != "categorical" or all(is_number(c) for c in self.choices)

    def below(self, i: int) -> str:
        """The values under bin i's lower edge, as text: ``< 1e-1``."""
        return f"< {_edge(self.edges[i], self.kind)}" if self.kind != "categorical" else f"< {label(self.choices[i])}"

    def at_least(self, i: int) -> str:
        return f"≥ {_edge(self.edges[i], self.kind)}" if self.kind != "categorical" else f"≥ {label(self.choices[i])}"


def binning(values: Sequence[Any]) -> Binning:
    """The bins of a knob that took `values` (None, NaN and strings make it categorical)."""
    values = [None if isinstance(v, float) and math.isnan(v) else v for v in values]
    if not all(is_number(v) for v in values) or len(_distinct(values, limit=7)) <= 6:
        return Binning("categorical", choices=tuple(_order(values)))
    kind, edges = _edges(values)
    return Binning(kind, edges=tuple(edges))


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
"""(knob value, outcome, objective value) of one finished trial."""


def knob_region(knob: str, rows: Sequence[Row], min_trials: int, minimize: bool,
                bins: Binning | None = None) -> KnobRegion:
    """The bins of `knob` that hold trials, with their outcome counts (`bins`: the binning to
    use, by default the one of these rows' values)."""
    b = bins or binning([v for v, _, _ in rows])
    groups: dict[int, list[Row]] = {}
    for row in rows:
        groups.setdefault(b.index(_clean(row[0])), []).append(row)
    return KnobRegion(knob, b.kind, tuple(_bin(b.label(i), groups[i], b.bounds(i), min_trials, minimize)
                                          for i in sorted(groups)))


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


def label(value: Any) -> str:
    """A category as a reader wants it: `null`, `cosine`, `1.0`; a sampled float (a few trials
    of a continuous lr) to 3 significant digits, not 0.0012520653814999472."""
    if value is None:
        return "null"
    text = str(value)
    return f"{value:.3g}" if isinstance(value, float) and len(text) > 8 else text


def _clean(v: Any) -> Any:
    """NaN (how pandas holds a missing value) is None, the value the trial really had."""
    return None if isinstance(v, float) and math.isnan(v) else v


def _same(a: Any, b: Any) -> bool:
    b = _clean(b)
    return a == b and isinstance(a, bool) == isinstance(b, bool) and (a is None) == (b is None)


def _distinct(values: list[Any], limit: int | None = None) -> list[Any]:
    """The distinct values in order met (stopping at `limit`: a sampled lr has a thousand)."""
    out: list[Any] = []
    for v in values:
        if not any(_same(u, v) for u in out):
            out.append(v)
            if limit is not None and len(out) >= limit:
                break
    return out


def _order(values: list[Any]) -> list[Any]:
    distinct = _distinct(values)
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
    """Bins that look bad on their own: mostly unstable, and at least twice as unstable as
    the knob's best bin. Only a hint: the attribution decides whether the knob is the cause."""
    counted = [b for b in region.bins if b.n >= 2] or list(region.bins)
    floor = min(b.share for b in counted)
    return [b for b in region.bins if b.share >= 0.5 and b.share >= 2 * floor and b.share > floor]


def value_text(v: Any) -> str:
    """A parameter value in text: 4 significant digits (``3.162e-3``, ``0.1523``), a short
    one as written (``10.0``, ``cosine``, ``null``); JSON keeps full precision."""
    if isinstance(v, float) and math.isfinite(v) and len(str(v)) > 6:
        return fmt.sci(v, 4) if 0 < abs(v) < 1e-2 else fmt.num(v)
    return label(v)
