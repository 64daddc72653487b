"""How far the finished trials' own curves went on from a step: the pruner's second bound.

A trial's own curve cannot see what the schedule still holds: under a cosine or step
schedule a run often sits on a plateau for a dozen epochs while the learning rate is high,
then falls as it anneals (a 60-epoch Darcy trial at 0.117-0.128 from epoch 3 to 7 ended at
0.048, the sweep's best). The finished trials went through the same schedule, so their
curves say how much a run can still gain from a step: the largest gain any of them made
from its best value up to that step to its final one. The trial may gain `headroom` times
that (in log terms when every value is positive, otherwise in the values themselves); the
result is the good end the finished trials allow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def experienced(points: Sequence[tuple[int, float]], curves: Iterable[Sequence[tuple[int, float]]],
                step: int, *, headroom: float, minimize: bool) -> float | None:
    """The best value `points` (the trial's finite reports up to `step`) could reach if it
    gained `headroom` times the largest gain a finished curve made from `step` to its end;
    None without a finished curve that reported by `step` and ended finite."""
    usable = []
    for curve in curves:
        before = [v for s, v in curve if s <= step and math.isfinite(v)]
        if before and math.isfinite(curve[-1][1]):
            usable.append((before, curve[-1][1]))
    if not usable or not points:
        return None
    values = [v for _, v in points] + [v for before, final in usable for v in (*before, final)]
    logs = all(v > 0 for v in values)
    z = math.log if logs else float
    pick = min if minimize else max
    gains = [abs(z(pick(before)) - z(final)) if _gained(pick(before), final, minimize) else 0.0
             for before, final in usable]
    start = z(pick(v for _, v in points))
    reach = start - headroom * max(gains) if minimize else start + headroom * max(gains)
    return math.exp(min(reach, 690.0)) if logs else reach


def _gained(before: float, final: float, minimize: bool) -> bool:
    return final < before if minimize else final > before
