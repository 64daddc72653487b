"""The words a diagnosis may use for its numbers, each decided from the numbers themselves.

A sentence never picks "rises", "rare" or "fewer" by hand: it asks here, so the word and
the figure beside it cannot disagree (the property test in tests/diagnose checks the text).
"""

from __future__ import annotations

import math
from typing import Literal

from fnosweep.diagnose import fmt
from fnosweep.diagnose.curve import trend
from fnosweep.diagnose.series import Points, Series

Direction = Literal["rises", "falls", "flat"]

RARE = 0.1
"""A share of steps below this is 'rare'; from it up to one half, 'some'; then 'most'."""


def direction(points: Points, z_min: float, window: int | None = None) -> Direction:
    """Rises or falls only when the Mann-Kendall test over the points (the last `window`) says
    the direction is real; else flat. Fewer than three points are flat."""
    t = trend(points, window or len(points))
    if t is None:
        return "flat"
    if t.rising(z_min):
        return "rises"
    if t.falling(z_min):
        return "falls"
    return "flat"


def frequency(fraction: float) -> str:
    """How often, in words that match the share: ``on no step``, ``rarely``, ``on some
    steps``, ``on most steps``, ``on every step``."""
    if fraction <= 0:
        return "on no step"
    if fraction >= 1:
        return "on every step"
    if fraction < RARE:
        return "rarely"
    return "on some steps" if fraction < 0.5 else "on most steps"


def compare(a: float, b: float, more: str = "larger", fewer: str = "smaller") -> str:
    """`a` against `b` as a factor >= 1: ``167× larger`` or ``1.5× smaller``, ``about the same``
    within 10 %."""
    if a <= 0 or b <= 0 or not (math.isfinite(a) and math.isfinite(b)):
        return "not comparable"
    r = a / b
    if 1 / 1.1 <= r <= 1.1:
        return "about the same"
    return f"{fmt.factor(r)} {more}" if r > 1 else f"{fmt.factor(1 / r)} {fewer}"


def value_at(s: Series, epoch: int) -> float | None:
    return next((v for e, v in s.points if e == epoch), None)


def change(s: Series, label: str | None = None) -> str:
    """``train loss 0.8695 → 0.8658 (-0.4 %) over epochs 0–2``: the recorded values at both
    ends, never a median or a level."""
    (e0, v0), (e1, v1) = s.points[0], s.points[-1]
    if len(s.points) == 1:
        return f"{label or s.name} {fmt.num(v0)} at epoch {e0}"
    rel = fmt.pct((v1 - v0) / abs(v0)) if v0 else "from 0"
    return f"{label or s.name} {fmt.num(v0)} → {fmt.num(v1)} ({rel}) over {fmt.epochs(e0, e1)}"


def share_text(fraction: float) -> str:
    """``97 % of steps clipped`` style share with its frequency word: ``on most steps (97 %)``."""
    return f"{frequency(fraction)} ({fmt.pct(fraction, signed=False)})"


def trend_text(points: Points, z_min: float) -> str:
    """The direction as the answer says it, with its test: ``it falls (Mann–Kendall z -3.1
    over epochs 0–11)``; under four epochs (too few for the test to pass) what the epochs
    did: ``it rose every epoch (3 epochs, too few for a trend test)``."""
    n = len(points)
    if n >= 4:
        t = trend(points, n)
        assert t is not None
        word = {"rises": "it rises", "falls": "it falls", "flat": "no real trend"}[
            direction(points, z_min)]
        return f"{word} (Mann–Kendall z {t.z:.1f} over {fmt.epochs(t.first_epoch, t.last_epoch)})"
    v = [p[1] for p in points]
    steps = list(zip(v, v[1:], strict=False))
    if steps and all(b > a for a, b in steps):
        what = "it rose every epoch"
    elif steps and all(b < a for a, b in steps):
        what = "it fell every epoch"
    else:
        what = "no direction"
    return f"{what} ({n} epoch{'s' if n != 1 else ''}, too few for a trend test)"
