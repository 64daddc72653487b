"""Where a learning curve points: its value at the budget's last step, with an optimistic bound.

Two curves, both straight lines after logs, as `fnosweep diagnose`'s time to target fits
them: an exponential ``log y = a + b t`` and a power law ``log y = a + b log t``, with
``t = step + 1``, each fitted by least squares to the recent half of the points (at least
`MIN_POINTS`: the current rate, not the first epochs' plunge). The projection is the form
with the smaller squared error (an exponential while the curve falls by a steady factor per
step, a power law once its improvement per step shrinks). The optimistic bound is the good
end of the one-sided Student-t prediction interval at the end step, the better of the two
forms': with few or noisy points it is wide, and which form holds is itself uncertain (on
three noisy points either can win), which is what keeps a slow starter alive; on a smooth
flat curve both are narrow and agree.

Values <= 0 (a metric that is not a loss) are fitted without the log.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_POINTS = 3
"""Fewest points a fit needs: two parameters and one degree of freedom for its noise."""


@dataclass(frozen=True)
class Projection:
    """The fitted curve at the end step, and how good it could still plausibly be."""

    value: float
    """The fitted curve's value at the end step."""
    optimistic: float
    """The good end of the one-sided `confidence` prediction interval at the end step
    (the lower end when minimizing)."""
    model: str
    """``exponential`` or ``power_law``."""
    first_step: int
    """First step of the points fitted (the last is the trial's latest)."""


def fit_window(points: Sequence[tuple[int, float]]) -> Sequence[tuple[int, float]]:
    """The recent half of the points, at least MIN_POINTS."""
    return points[-max(MIN_POINTS, math.ceil(len(points) / 2)):]


def project(points: Sequence[tuple[int, float]], end_step: int, *, confidence: float,
            minimize: bool) -> Projection | None:
    """The curve through `points` (step, finite value) at `end_step`; None with too few points."""
    pts = fit_window(points)
    if len(pts) < MIN_POINTS:
        return None
    logs = all(v > 0 for _, v in pts)
    t = np.array([s + 1.0 for s, _ in pts])
    y = np.array([math.log(v) if logs else v for _, v in pts])
    q = float(stats.t.ppf(confidence, len(pts) - 2))
    fits = [_line(model, x, y, x_end)
            for model, x, x_end in (("exponential", t, end_step + 1.0),
                                    ("power_law", np.log(t), math.log(end_step + 1.0)))]
    model, _, centre, _ = min(fits, key=lambda f: f[1])
    bounds = [c - q * s if minimize else c + q * s for _, _, c, s in fits]
    good = min(bounds) if minimize else max(bounds)
    return Projection(value=_back(centre, logs), optimistic=_back(good, logs), model=model,
                      first_step=int(pts[0][0]))


def _line(model: str, x: np.ndarray, y: np.ndarray,
          x_end: float) -> tuple[str, float, float, float]:
    """Least squares y = a + b x: (model, squared error, value at x_end, its prediction s.e.)."""
    n = len(x)
    x_mean = float(x.mean())
    sxx = float(((x - x_mean) ** 2).sum())
    slope = float(((x - x_mean) * (y - y.mean())).sum()) / sxx
    intercept = float(y.mean()) - slope * x_mean
    resid = y - (intercept + slope * x)
    sse = float(resid @ resid)
    spread = math.sqrt(sse / (n - 2)) * math.sqrt(1 + 1 / n + (x_end - x_mean) ** 2 / sxx)
    return model, sse, intercept + slope * x_end, spread


def _back(z: float, logs: bool) -> float:
    """Undo the log; a far extrapolation saturates near 1e300 rather than overflowing."""
    return math.exp(min(z, 690.0)) if logs else z
