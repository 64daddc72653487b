"""The records of a history: the run, its epochs, and the one reader of each record.

`RunInfo.from_dict` and `EpochRecord.from_dict` check every field (a history file can
hold anything); `EpochRecord.from_dict(trusted=True)` is their fast path for records the
store wrote from checked ones. `dumps` is the one JSON encoding of a line.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Stats = Mapping[str, float | None]


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """What a run is: the first line of a history file."""

    n_params: int | None = None
    """Parameter count as ``neuralop.utils.count_model_params`` gives it (a complex weight counts twice)."""
    n_param_elements: int | None = None
    """Parameter count as tensor elements (``p.numel()``; a complex weight counts once)."""
    n_train: int | None = None
    """Training samples."""
    batch_size: int | None = None
    optimizer: str | None = None
    lr: float | None = None
    """Initial learning rate."""
    weight_decay: float | None = None
    clip_threshold: float | None = None
    """Max total gradient norm; None when the run did not clip."""
    scheduler: str | None = None
    loss: str | None = None
    """Training loss: ``l2`` or ``h1`` (relative, as neuralop defines them)."""
    epochs: int | None = None
    """Epoch budget of the run, when known (time-to-target answers against it)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Any other key of the run line (problem, resolution, note, ...), kept for display."""

    @property
    def params_per_sample(self) -> float | None:
        if not self.n_params or not self.n_train:
            return None
        return self.n_params / self.n_train

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "run"}
        for f in dataclasses.fields(self):
            if f.name != "extra":
                out[f.name] = getattr(self, f.name)
        out.update(self.extra)
        if self.params_per_sample is not None:
            out["params_per_sample"] = round(self.params_per_sample, 3)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunInfo:
        known = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
        kwargs: dict[str, Any] = {}
        for name in known:
            value = d.get(name)
            if name in _INT_FIELDS:
                kwargs[name] = _int_or_none(value, name)
            elif name in _STR_FIELDS:
                kwargs[name] = _str_or_none(value, name)
            else:
                kwargs[name] = _num_or_none(value, name)
        extra = {k: v for k, v in d.items() if k not in known and k not in ("kind", "params_per_sample")}
        return cls(**kwargs, extra=extra)


_INT_FIELDS = {
    "n_params",
    "n_param_elements",
    "n_train",
    "batch_size",
    "epochs",
    "steps",
    "nonfinite_steps",
    "nonfinite_loss_steps",
    "skipped_steps",
    "epoch",
}
_STR_FIELDS = {"optimizer", "scheduler", "loss"}


FNO_TOP_GROUPS = ("lifting", "fno_blocks", "projection")
"""The top layer groups of a neuralop FNO, in the order a record lists them (`groups` also
holds one entry per block, `fno_blocks.<i>`)."""


@dataclass(frozen=True, kw_only=True)
class EpochRecord:
    """The stability metrics of one epoch. Units are in the field docs."""

    epoch: int
    """0-based epoch index."""
    train_loss: float | None = None
    """Training loss, mean per sample (relative L2 or H1)."""
    train_err: float | None = None
    """neuralop's ``train_err``: mean over batches of the batch-summed loss (= batch_size x train_loss)."""
    eval: Mapping[str, float | None] = field(default_factory=dict)
    """Evaluation losses per sample, keyed ``{resolution}_{loss}`` as neuralop does (``32_l2``)."""
    lr: float | None = None
    """Learning rate used during the epoch (before the scheduler's step at its end)."""
    grad_norm: Stats = field(default_factory=dict)
    """Total gradient norm before clipping over the epoch's steps: ``median``, ``p95``, ``max``
    (and ``first``, the first step's, when known)."""
    clip_fraction: float | None = None
    """Fraction of steps whose pre-clip norm exceeded the clip threshold."""
    steps: int | None = None
    """Optimizer steps taken (or skipped) in the epoch."""
    nonfinite_steps: int | None = None
    """Steps whose loss or gradient held NaN or Inf."""
    nonfinite_loss_steps: int | None = None
    """Steps whose loss was NaN or Inf."""
    skipped_steps: int | None = None
    """Steps the non-finite guard skipped (the optimizer did not step)."""
    groups: Mapping[str, Stats] = field(default_factory=dict)
    """Gradient norm per layer group (``lifting``, ``fno_blocks``, ``projection``,
    ``fno_blocks.0``, ...): ``mean`` and ``max`` over the epoch's steps."""
    weight_norm: float | None = None
    """L2 norm of all parameters at the end of the epoch."""
    update_ratio: float | None = None
    """||weights after the epoch - weights before|| / ||weights before||."""
    epoch_time_s: float | None = None
    """Wall time of the training part of the epoch (evaluation excluded)."""
    eval_time_s: float | None = None
    samples_per_s: float | None = None
    """Training samples per second of ``epoch_time_s``."""
    peak_mem_bytes: int | None = None
    """Peak CUDA memory on a GPU, peak resident set size of the process on a CPU."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "epoch"}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or (isinstance(value, Mapping) and not value):
                continue
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, trusted: bool = False) -> EpochRecord:
        """An epoch line's object as a record; a defect is a ValueError naming the field.

        `trusted`: `d` is a line the store wrote with `dumps(record.to_dict())` of a record
        read through here, so every value already has its type; it is taken as is (a fifth
        of the checked read's time, which the report's 200 000 records need)."""
        if trusted:
            return cls(**{k: v for k, v in d.items() if k in _EPOCH_FIELDS})
        if "epoch" not in d:
            raise ValueError("an epoch line needs 'epoch'")
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = d.get(f.name)
            if f.name in ("eval", "grad_norm"):
                kwargs[f.name] = _stats(value, f.name)
            elif f.name == "groups":
                kwargs[f.name] = _groups(value)
            elif f.name in _INT_FIELDS or f.name == "peak_mem_bytes":
                kwargs[f.name] = _int_or_none(value, f.name)
            else:
                kwargs[f.name] = _num_or_none(value, f.name)
        if kwargs["epoch"] is None or kwargs["epoch"] < 0:
            raise ValueError(f"'epoch' must be a whole number >= 0, but got {d.get('epoch')!r}")
        return cls(**kwargs)

    def eval_value(self, key: str) -> float | None:
        """One evaluation figure, or None when the epoch did not measure it."""
        return self.eval.get(key)


@dataclass(frozen=True)
class History:
    """A run and its epochs, in epoch order."""

    run: RunInfo
    epochs: tuple[EpochRecord, ...]

    def series(self, name: str) -> list[float | None]:
        """A top-level metric over epochs (``train_loss``, ``lr``, ...)."""
        return [getattr(e, name) for e in self.epochs]

    def to_lines(self) -> Iterator[str]:
        yield dumps(self.run.to_dict())
        for e in self.epochs:
            yield dumps(e.to_dict())


_EPOCH_FIELDS = frozenset(f.name for f in dataclasses.fields(EpochRecord))


def dumps(obj: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """One JSON line as fnosweep writes them (history lines, the store's columns). NaN and
    Infinity are written as Python's json writes them. `default` turns a value JSON has no
    type for into one (the store passes `str`); without it such a value is a TypeError."""
    return json.dumps(obj, allow_nan=True, separators=(", ", ": "), default=default)


def is_finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


# -- field readers: each raises ValueError naming the field and the bad value ---------------


def _num_or_none(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'{name}' must be a number or null, but got {value!r}")
    return float(value)


def _int_or_none(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{name}' must be a whole number or null, but got {value!r}")
    return value


def _str_or_none(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string or null, but got {value!r}")
    return value


def _stats(value: Any, name: str) -> dict[str, float | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"'{name}' must be an object of numbers, but got {value!r}")
    return {str(k): _num_or_none(v, f"{name}.{k}") for k, v in value.items()}


def _groups(value: Any) -> dict[str, dict[str, float | None]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"'groups' must be an object of objects, but got {value!r}")
    return {str(k): _stats(v, f"groups.{k}") for k, v in value.items()}


def metric_value(record: EpochRecord, metric: str) -> float | None:
    """A sweep metric from one epoch: ``eval.<key>`` (``eval.32_l2``) or a field (``train_loss``)."""
    if metric.startswith("eval."):
        return record.eval.get(metric.removeprefix("eval."))
    value = getattr(record, metric, None)
    return float(value) if isinstance(value, int | float) else None
