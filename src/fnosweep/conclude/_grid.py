"""The stability map's cells: two knobs' bins crossed, with the outcome counts per cell.

The report's stability map draws exactly this; the conclusion computes it from the same
trials, bins (`_regions.binning`) and outcomes (`_outcome.outcome`), so the picture and the
text count every trial, failed ones included, the same way.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fnosweep.conclude._outcome import BAD
from fnosweep.conclude._regions import Binning, binning, is_number


@dataclass(frozen=True)
class GridPoint:
    number: int
    x: Any
    y: Any
    outcome: str
    ix: int = 0
    iy: int = 0


@dataclass(frozen=True)
class StabilityGrid:
    x_knob: str
    y_knob: str
    x: Binning
    y: Binning
    points: tuple[GridPoint, ...]

    def cells(self) -> dict[tuple[int, int], Counter[str]]:
        """(x bin, y bin) -> outcome counts, for the cells that hold a trial."""
        out: dict[tuple[int, int], Counter[str]] = {}
        for p in self.points:
            out.setdefault((p.ix, p.iy), Counter())[p.outcome] += 1
        return out

    def counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(x label, y label) -> (unstable, trials): what the map writes in each cell."""
        return {(self.x.label(ix), self.y.label(iy)): (sum(c[v] for v in BAD), sum(c.values()))
                for (ix, iy), c in self.cells().items()}

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x_knob, "y": self.y_knob,
                "cells": [{"x": x, "y": y, "unstable": b, "n": n} for (x, y), (b, n) in self.counts().items()]}


def stability_grid(points: Sequence[GridPoint], x_knob: str, y_knob: str, *,
                   x_bins: Binning | None = None, y_bins: Binning | None = None) -> StabilityGrid | None:
    """The grid of the finished trials among `points` (running ones and trials without a
    numeric x are left out); the binning of each axis is the given one, else the points'."""
    kept = [p for p in points if p.outcome != "running" and _usable(p.x, x_bins)]
    if not kept:
        return None
    xb = x_bins or binning([p.x for p in kept])
    yb = y_bins or binning([p.y for p in kept])
    placed = tuple(GridPoint(p.number, p.x, p.y, p.outcome, xb.index(p.x), yb.index(p.y)) for p in kept)
    return StabilityGrid(x_knob, y_knob, xb, yb, placed)


def _usable(x: Any, bins: Binning | None) -> bool:
    """A trial is drawn when its x has a bin: any value on a categorical axis, a number on a
    numeric one; with no binning given, any value but a missing one."""
    if bins is None:
        return x is not None and not (isinstance(x, float) and math.isnan(x))
    return bins.kind == "categorical" or is_number(x)


def axes(knobs: Sequence[str], cause: tuple[str, ...] | None) -> tuple[str, str] | None:
    """The map's axes: the pair that explains the instability; a single cause other than lr
    and clip against lr; else lr × clip threshold."""
    if cause is not None and len(cause) == 2:
        return cause[0], cause[1]
    lr = next((k for k in knobs if k.rsplit(".", 1)[-1] == "lr"), None)
    clip = next((k for k in knobs if k.rsplit(".", 1)[-1] == "clip_threshold"), None)
    other = lr or clip
    if cause is not None and cause[0] not in (lr, clip) and other is not None:
        return other, cause[0]
    return (lr, clip) if lr and clip else None


def grid_of(rows: Mapping[int, tuple[Mapping[str, Any], str]], x_knob: str, y_knob: str,
            bins: Mapping[str, Binning]) -> StabilityGrid | None:
    """The grid of trials given as number -> (params, outcome), binned as `bins` says."""
    points = [GridPoint(n, params.get(x_knob), params.get(y_knob), o) for n, (params, o) in rows.items()
              if x_knob in params and y_knob in params]
    return stability_grid(points, x_knob, y_knob, x_bins=bins.get(x_knob), y_bins=bins.get(y_knob))
