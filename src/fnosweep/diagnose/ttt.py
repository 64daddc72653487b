"""Time to target: fit the learning curve, say when it reaches the target, and how surely.

Two curves, both straight lines after a log (so the fit is closed-form least squares):
an exponential ``log y = A + B t`` and a power law ``log y = A + B log t``, with
``t = epoch + 1``. The one with the smaller squared error on the recent epochs wins (same
number of parameters, so the errors compare fairly). The range is the 10th-90th percentile
of the crossing epoch over parameters drawn from the fit's covariance (a Student-t draw, so
that few epochs give a wide range rather than a false precision).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np

from fnosweep.diagnose import fmt
from fnosweep.diagnose.series import Points, eval_series, loss_series, pick_metric
from fnosweep.history import History

Status = Literal["reached", "projected", "not_within", "not_falling", "too_few_points"]
MIN_POINTS = 4
"""Fewest epochs a fit needs: two parameters, and two degrees of freedom for its error."""
_DRAWS = 2000
_MAX_LOG_T = math.log(1e9)  # crossings later than this are 'never' for any budget


@dataclass(frozen=True)
class TimeToTarget:
    """When the metric reaches the target at the current rate, with an 80 % range."""

    metric: str
    target: float
    status: Status
    last_epoch: int
    last_value: float | None
    horizon: int
    """Epoch by which the target must be reached to count ('not within' beyond it)."""
    epoch: float | None = None
    """Epoch at which the metric reaches the target (projected, or seen when reached)."""
    low: float | None = None
    high: float | None = None
    """80 % range of `epoch`; `high` None when the range runs past the horizon."""
    model: str | None = None
    """``exponential`` or ``power_law``."""
    rate: float | None = None
    """Relative change per epoch at the last epoch, from the fit."""
    fit_epochs: tuple[int, int] | None = None
    rmse_log: float | None = None

    @property
    def epochs_more(self) -> float | None:
        return None if self.epoch is None else max(0.0, self.epoch - self.last_epoch)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["epochs_more"] = self.epochs_more
        return out

    def text(self) -> str:
        now = f"{self.metric} {fmt.num(self.last_value)} at epoch {self.last_epoch}"
        goal = f"{self.metric} ≤ {fmt.num(self.target)}"
        if self.status == "reached":
            return f"{goal} reached at epoch {self.epoch:.0f}; now {now}."
        if self.status == "too_few_points":
            return f"{now}: too few epochs to fit a curve (need {MIN_POINTS})."
        fit = (f"{self.model} fit on epochs {self.fit_epochs[0]}–{self.fit_epochs[1]}, "
               f"{fmt.pct(self.rate)} per epoch now" if self.fit_epochs else "")
        if self.status == "not_falling":
            return (f"{now}: {goal} not within {self.horizon} epochs at this rate: it is not "
                    f"falling ({fit}).")
        rng = _range_text(self.low, self.high, self.horizon)
        if self.status == "not_within":
            far = self.epoch is None or self.epoch > 10 * self.horizon
            where = "" if far else f"projected epoch {_epoch_text(self.epoch)}, {rng}; "
            return f"{now}: {goal} not within {self.horizon} epochs at this rate ({where}{fit})."
        return (f"{now} → {goal} at about epoch {_epoch_text(self.epoch)}, "
                f"~{self.epochs_more:.0f} more ({rng}; {fit}).")


def time_to_target(history: History, target: float, *, metric: str | None = None,
                   horizon: int | None = None) -> TimeToTarget:
    """Epochs until `metric` (default: the eval L2, else the training loss) is <= `target`.

    `horizon` is the last epoch that counts (default: the run's epoch budget, else ten times
    the epochs seen, at least 100). Raises ValueError for a target that is not > 0 (the
    curves are fitted to logs).
    """
    check_target(target)
    series = eval_series(history, pick_metric(history, metric)) or loss_series(history)
    name = series.name if series else (metric or "loss")
    seen: Points = [(e, v) for e, v in (series.points if series else []) if v >= 0]
    points = [(e, v) for e, v in seen if v > 0]  # the fit is on logs: a 0 is reached, not fitted
    last_epoch = history.epochs[-1].epoch if history.epochs else 0
    if horizon is None:
        budget = history.run.epochs
        horizon = budget if budget and budget > last_epoch else max(100, 10 * (last_epoch + 1))
    base = TimeToTarget(metric=name, target=target, status="too_few_points",
                        last_epoch=last_epoch, last_value=None, horizon=horizon)
    if not seen:
        return base
    base = replace(base, last_epoch=seen[-1][0], last_value=seen[-1][1])
    reached = next((e for e, v in seen if v <= target), None)
    if reached is not None:
        return replace(base, status="reached", epoch=float(reached))
    if len(points) < MIN_POINTS:
        return base
    return _project(points, target, base)


def check_target(target: float) -> float:
    """`target` itself; ValueError unless it is a finite number > 0."""
    if not (isinstance(target, int | float) and 0 < target < math.inf):
        raise ValueError(f"target must be a finite number > 0, but got target={target!r}")
    return target


def fit_window(points: Points) -> Points:
    """The recent half of the curve (at least MIN_POINTS): the current rate, not the start."""
    return points[-max(MIN_POINTS, math.ceil(len(points) / 2)):]


def _project(points: Points, target: float, base: TimeToTarget) -> TimeToTarget:
    pts = fit_window(points)
    t = np.array([e + 1.0 for e, _ in pts])
    y = np.log([v for _, v in pts])
    fits = [_ols(name, x, y) for name, x in (("exponential", t), ("power_law", np.log(t)))]
    model, coef, cov, sse = min(fits, key=lambda f: f[3])
    a, b = float(coef[0]), float(coef[1])
    x_end = float(t[-1]) if model == "exponential" else math.log(t[-1])
    rate = math.expm1(b if model == "exponential" else b * math.log1p(1 / t[-1]))
    fitted = replace(base, model=model, rate=rate, fit_epochs=(pts[0][0], pts[-1][0]),
                     rmse_log=math.sqrt(sse / len(pts)))
    if b >= 0:
        return replace(fitted, status="not_falling")
    epoch = _crossing(model, a, b, math.log(target), x_end)
    draws = _draws(coef, cov, len(pts) - 2)
    crossings = _crossings(model, draws[:, 0], draws[:, 1], math.log(target), x_end)
    low, high = (float(q) for q in np.percentile(crossings, [10, 90]))
    horizon = base.horizon
    return replace(fitted, status="projected" if epoch <= horizon else "not_within", epoch=epoch,
                   low=min(low, epoch), high=None if high > horizon else max(high, epoch))


def _ols(name: str, x: np.ndarray, y: np.ndarray) -> tuple[str, np.ndarray, np.ndarray, float]:
    X = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    sse = float(resid @ resid)
    dof = max(len(x) - 2, 1)
    cov = (sse / dof) * np.linalg.inv(X.T @ X)
    return name, coef, cov, sse


def _draws(coef: np.ndarray, cov: np.ndarray, dof: int) -> np.ndarray:
    rng = np.random.default_rng(0)  # fixed: the same history always gets the same range
    normal = rng.multivariate_normal(np.zeros(2), cov, size=_DRAWS, method="eigh")
    scale = np.sqrt(max(dof, 1) / rng.chisquare(max(dof, 1), size=_DRAWS))
    return coef + normal * scale[:, None]


def _crossing(model: str, a: float, b: float, log_target: float, x_end: float) -> float:
    """Epoch where the fitted curve reaches the target; inf when it does not fall."""
    if b >= 0:
        return math.inf
    x = (log_target - a) / b
    if model == "power_law":
        return math.inf if x > _MAX_LOG_T else math.exp(max(x, x_end)) - 1
    return min(max(x, x_end), math.exp(_MAX_LOG_T)) - 1


def _crossings(model: str, a: np.ndarray, b: np.ndarray, log_target: float,
               x_end: float) -> np.ndarray:
    """`_crossing` over many draws at once; 'never' is 1e12, so percentiles stay finite."""
    falling = b < 0
    x = np.where(falling, (log_target - a) / np.where(falling, b, -1.0), np.inf)
    x = np.maximum(x, x_end)
    if model == "power_law":
        epoch = np.exp(np.minimum(x, _MAX_LOG_T)) - 1
        epoch[x > _MAX_LOG_T] = np.inf
    else:
        epoch = x - 1
    return np.minimum(epoch, 1e12)


def _epoch_text(e: float | None) -> str:
    if e is None or not math.isfinite(e) or e >= 1e12:
        return "never"
    return f"{e:,.0f}"


def _range_text(low: float | None, high: float | None, horizon: int) -> str:
    hi = f"beyond {horizon}" if high is None else _epoch_text(high)
    return f"80 % range epoch {_epoch_text(low)}–{hi}"
