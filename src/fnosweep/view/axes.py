"""Axis ranges set by the trials a user compares, not by the one that diverged.

Plotly's autorange spans every value: one trial at 1e+8 squashes the best trials' curves
into the bottom tenth. Here the caller names the values that matter (the best trials, the
complete stable ones); the axis spans them whole and reaches past them by at most a share
of their span. Values beyond are drawn on the axis edge and marked, their true value in
the hover text; a curve that ends in NaN or inf ends in a marker at its last finite value.
Pure functions over arrays: tested as tables in tests/view/test_axes.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

GROW = 0.25
"""How far past the compared values an axis may reach, as a share of their span, each side:
the compared values always fill at least 1 / (1 + 2 x GROW) = 2/3 of the axis."""
PAD = 0.04
"""Room past the edge (share of the axis) for the markers of clipped points."""
UP, DOWN, END = "arrow-up", "arrow-down", "x"
"""Markers: a value above the axis, below it (arrows: triangles mean pruned in the objective
figure), and the last finite value of a curve that diverged."""


@dataclass(frozen=True)
class Axis:
    """What an axis shows, in data units: values in [low, high] are drawn where they are,
    the others on the edge they passed."""

    low: float
    high: float
    log: bool

    def plotly_range(self) -> list[float]:
        """The range plotly takes (log10 units on a log axis), with room for edge markers."""
        lo, hi = (math.log10(self.low), math.log10(self.high)) if self.log else (self.low, self.high)
        pad = PAD * (hi - lo)
        return [lo - pad, hi + pad]

    def clip(self, values: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The values with those past an edge put on it (NaN and inf stay gaps), and -1/0/+1
        per value: below the axis, on it, above it. On a log axis, values <= 0 are below."""
        v = np.asarray(values, dtype=float)
        side = np.zeros(v.shape, dtype=np.int8)
        finite = np.isfinite(v)
        # A tolerance of float32's precision: curves are drawn in float32, and an edge that
        # went through log10 and back is the data's extreme to 1e-15, not exactly.
        eps = 1e-6 * max(abs(self.low), abs(self.high), self.high - self.low)
        high, low = (self.high * (1 + 1e-6), self.low * (1 - 1e-6)) if self.log else (self.high + eps, self.low - eps)
        side[finite & (v > high)] = 1
        side[finite & ((v < low) | ((v <= 0) if self.log else False))] = -1
        return np.where(side > 0, self.high, np.where(side < 0, self.low, v)), side


def axis_range(focus: npt.ArrayLike, every: npt.ArrayLike = (), *, log: bool, grow: float = GROW) -> Axis | None:
    """The axis for `focus` (the values a user compares), reaching towards the rest of
    `every` by at most `grow` x the focus span on each side.

    No finite focus value: the focus is `every`. A focus of one value: no outlier can be
    judged against a zero span, so the axis spans `every` (or a decade / +-50 % around
    the value). Nothing finite (positive, on a log axis): None, plotly's autorange."""
    f, e = _usable(focus, log), _usable(every, log)
    if not len(f):
        f = e
    if not len(f):
        return None
    e = np.concatenate([e, f])
    lo_f, hi_f = float(f.min()), float(f.max())
    if hi_f > lo_f:
        reach = grow * (hi_f - lo_f)
        lo, hi = max(float(e.min()), lo_f - reach), min(float(e.max()), hi_f + reach)
    else:
        lo, hi = float(e.min()), float(e.max())
        if hi <= lo:
            half = 0.5 if log else (0.5 * abs(lo) or 0.5)
            lo, hi = lo - half, hi + half
    return Axis(10**lo, 10**hi, log) if log else Axis(lo, hi, log)


def near_best(values: npt.ArrayLike, *, direction: str, factor: float = 10.0) -> np.ndarray:
    """The finite values within `factor` of the best (the objectives a user compares).
    Values of mixed sign have no ratio to the best: then all finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v) or (v <= 0).any():
        return v
    best = v.min() if direction == "minimize" else v.max()
    keep = v <= best * factor if direction == "minimize" else v >= best / factor
    return v[keep]


def curve_ends(numbers: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row index of the last finite value of each curve that ends in NaN or inf (a diverged
    run: its line stops there, so the marker is what shows it). `numbers` (the trial of each
    row) must be sorted; rows of one trial are in epoch order. A curve with no finite
    value has no end to mark."""
    n = len(values)
    if not n:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(numbers[1:] != numbers[:-1]) + 1]
    stops = np.r_[starts[1:], n]
    finite = np.isfinite(values)
    out = []
    for a, b in zip(starts, stops, strict=True):
        idx = np.flatnonzero(finite[a:b])
        if len(idx) and idx[-1] < b - a - 1:
            out.append(a + idx[-1])
    return np.asarray(out, dtype=np.int64)


def _usable(values: npt.ArrayLike, log: bool) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
    return np.log10(v) if log else v
