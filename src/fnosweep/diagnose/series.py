"""Series out of a history: what the rules look at, as (epoch, value) points."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from fnosweep.history import EpochRecord, History

Points = list[tuple[int, float]]


@dataclass(frozen=True)
class Series:
    """One metric over epochs, with its name as the user knows it."""

    name: str
    points: Points
    """Finite values only, in epoch order."""

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points]

    @property
    def epochs(self) -> list[int]:
        return [e for e, _ in self.points]

    def __len__(self) -> int:
        return len(self.points)


def _field(e: EpochRecord, name: str) -> float | None:
    value = getattr(e, name)
    return value if isinstance(value, int | float) else None


def _grad_stat(e: EpochRecord, stat: str) -> float | None:
    return e.grad_norm.get(stat)


def collect(history: History, get: Callable[[EpochRecord], float | None]) -> Points:
    out: Points = []
    for e in history.epochs:
        v = get(e)
        if v is not None and math.isfinite(v):
            out.append((e.epoch, float(v)))
    return out


def loss_series(history: History) -> Series | None:
    """Training loss per sample; neuralop's per-batch ``train_err`` when that is all there is."""
    for name in ("train_loss", "train_err"):
        pts = collect(history, partial(_field, name=name))
        if pts:
            return Series(name, pts)
    return None


def eval_keys(history: History) -> list[str]:
    keys: dict[str, int] = {}
    for e in history.epochs:
        for k, v in e.eval.items():
            if v is not None:
                keys[k] = keys.get(k, 0) + 1
    return sorted(keys, key=lambda k: -keys[k])


def pick_metric(history: History, metric: str | None = None) -> str | None:
    """The eval metric to judge: the one asked for, else the most often measured ``*l2``."""
    keys = eval_keys(history)
    if metric is not None:
        metric = metric.removeprefix("eval.")  # a study's metric `eval.32_l2` is eval key 32_l2
        return metric if metric in keys else None
    l2 = [k for k in keys if k.lower().endswith("l2")]
    ranked = l2 or keys
    return ranked[0] if ranked else None


def eval_series(history: History, metric: str | None) -> Series | None:
    if metric is None:
        return None
    pts = collect(history, lambda e: e.eval.get(metric))
    return Series(metric, pts) if pts else None


GRAD_STATS = ("median", "p95", "max")


def grad_series(history: History) -> Series | None:
    """Pre-clip total gradient norm per epoch: the median where measured, else p95, else max."""
    for stat in GRAD_STATS:
        pts = collect(history, partial(_grad_stat, stat=stat))
        if len(pts) * 2 >= len(history.epochs) and pts:
            return Series(stat, pts)
    return None


def grad_max(history: History) -> Series | None:
    pts = collect(history, lambda e: e.grad_norm.get("max"))
    return Series("max", pts) if pts else None


def first_step_norm(history: History) -> float | None:
    if not history.epochs:
        return None
    v = history.epochs[0].grad_norm.get("first")
    return v if v is not None and math.isfinite(v) and v > 0 else None


def clip_series(history: History) -> Series | None:
    pts = collect(history, lambda e: e.clip_fraction)
    return Series("clip_fraction", pts) if pts else None


def lr_series(history: History) -> Series | None:
    pts = collect(history, lambda e: e.lr)
    return Series("lr", pts) if pts else None


def nonfinite_epochs(history: History) -> list[tuple[int, str]]:
    """Epochs with a non-finite loss, gradient or eval value, and what was non-finite."""
    out = []
    for e in history.epochs:
        what = _nonfinite_in(e)
        if what:
            out.append((e.epoch, what))
    return out


def guarded_epochs(history: History) -> list[tuple[int, int, int | None]]:
    """(epoch, steps skipped, steps) of the epochs whose non-finite steps the guard skipped
    and that stayed finite otherwise: a bad batch was kept out of the weights, not divergence."""
    return [(e.epoch, e.skipped_steps or 0, e.steps) for e in history.epochs if _guarded(e)]


def _guarded(e: EpochRecord) -> bool:
    skipped = e.skipped_steps or 0
    return skipped > 0 and skipped >= (e.nonfinite_steps or 0) and not _nonfinite_value(e)


def _nonfinite_in(e: EpochRecord) -> str:
    if _guarded(e):
        return ""
    counts = [(e.nonfinite_steps, "steps with a non-finite loss or gradient"),
              (e.nonfinite_loss_steps, "steps with a non-finite loss"),
              (e.skipped_steps, "steps skipped by the non-finite guard")]
    for n, text in counts:
        if n:
            return f"{n:,} {text}" + (f" of {e.steps:,}" if e.steps else "")
    return _nonfinite_value(e)


def _nonfinite_value(e: EpochRecord) -> str:
    values = [("train loss", e.train_loss), ("train_err", e.train_err)]
    # the first step's norm is one step: a NaN there is a step the counts (and the guard) saw
    values += [(f"gradient norm {k}", v) for k, v in e.grad_norm.items() if k != "first"]
    values += [(f"eval {k}", v) for k, v in e.eval.items()]
    for name, v in values:
        if v is not None and not math.isfinite(v):
            return f"{name} is {v}"
    return ""
