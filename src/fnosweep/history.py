"""The history file: fnosweep's exchange format (DESIGN.md, "History file").

JSON Lines. The first line describes the run (``"kind": "run"``), then one line per
epoch (``"kind": "epoch"``). Fields a run did not measure are absent or null; keys a
reader does not know are ignored, so the format can grow. Non-finite values are
written as ``NaN`` / ``Infinity`` (what Python's ``json`` writes) and read back as
floats: divergence is exactly what a diagnosis must see.

The monitor writes it, the store keeps the same records, ``fnosweep diagnose
--history`` reads it, and ``fnosweep trials --format json`` emits it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fnosweep.errors import HistoryError

Stats = Mapping[str, float | None]

MAX_HISTORY_BYTES = 256_000_000
"""A history file is read whole; a bigger one (or a device) is refused before reading."""
MAX_LINE_CHARS = 1_000_000
"""An epoch line is about a kilobyte (a few hundred layer groups would still fit)."""
MAX_NESTING = 16
"""A history line nests 3 levels (groups -> group -> stats); json's reader recurses."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


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
    def from_dict(cls, d: Mapping[str, Any]) -> EpochRecord:
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


def dumps(obj: Mapping[str, Any]) -> str:
    """One history line. NaN and Infinity are written as Python's json writes them."""
    return json.dumps(obj, allow_nan=True, separators=(", ", ": "))


def parse_lines(lines: Iterable[str], source: str = "<history>") -> History:
    """Read history lines; any defect is one `HistoryError` naming the line number."""
    run: RunInfo | None = None
    epochs: list[EpochRecord] = []
    n = 0
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{source}, line {n}"
        if len(raw) > MAX_LINE_CHARS:
            raise HistoryError(f"{where}: is {len(raw)} characters long; a history line is at most "
                               f"{MAX_LINE_CHARS} (an epoch line is about a kilobyte)")
        if _nesting(raw) > MAX_NESTING:
            raise HistoryError(f"{where}: nests arrays or objects more than {MAX_NESTING} levels deep; "
                               "a history line nests 3")
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise HistoryError(f"{where}: not valid JSON ({e.msg}, column {e.colno})") from None
        except ValueError as e:  # e.g. an integer past Python's 4300-digit conversion limit
            raise HistoryError(f"{where}: not valid JSON ({str(e).split(';')[0]})") from None
        if not isinstance(obj, dict):
            raise HistoryError(f"{where}: expected a JSON object, but got {type(obj).__name__}")
        kind = obj.get("kind")
        try:
            if kind == "run":
                if run is not None:
                    raise ValueError("a second 'run' line; a history holds one run")
                if epochs:
                    raise ValueError("the 'run' line must come before the epochs")
                run = RunInfo.from_dict(obj)
            elif kind == "epoch":
                if run is None:
                    raise ValueError("an epoch before the 'run' line; the first line must describe the run")
                record = EpochRecord.from_dict(obj)
                if epochs and record.epoch <= epochs[-1].epoch:
                    word = "repeated" if record.epoch == epochs[-1].epoch else "out of order"
                    raise ValueError(f"epoch {record.epoch} is {word} (previous epoch {epochs[-1].epoch})")
                epochs.append(record)
            else:
                raise ValueError(f"'kind' must be 'run' or 'epoch', but got {kind!r}")
        except ValueError as e:
            raise HistoryError(f"{where}: {e}") from None
    if run is None:
        raise HistoryError(
            f'{source}: no \'run\' line; expected a JSON Lines history whose first line has "kind": "run"'
            if n
            else f"{source}: the history is empty"
        )
    return History(run=run, epochs=tuple(epochs))


def read_history(path: str | os.PathLike[str]) -> History:
    """Read a history file (DESIGN.md format)."""
    p = Path(path)
    if not p.exists():
        raise HistoryError(f"{p}: no such file")
    if p.is_dir():
        raise HistoryError(f"{p}: is a directory, expected a history file (.jsonl)")
    try:
        if not stat.S_ISREG(p.stat().st_mode):  # /dev/zero never ends; opening a pipe blocks
            raise HistoryError(f"{p}: is not a regular file (a device or a pipe?), expected a history (.jsonl)")
        with open(p, "rb") as f:
            data = f.read(MAX_HISTORY_BYTES + 1)
    except OSError as e:  # /proc/self/mem and the like: listed as files, unreadable
        raise HistoryError(f"{p}: cannot be read: {e.strerror or e}") from None
    if len(data) > MAX_HISTORY_BYTES:
        raise HistoryError(f"{p}: is over {MAX_HISTORY_BYTES // 1_000_000} MB; a history file is at most that "
                           "(a trial of 10 000 epochs is about 10 MB)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise HistoryError(f"{p}, line {line}: not UTF-8 text (is this a binary file?)") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise HistoryError(f"{p}, line {line}: holds NUL bytes (is this a binary file?)")
    return parse_lines(text.splitlines(), source=str(p))


def _nesting(line: str) -> int:
    """How deep brackets nest in a line (brackets in strings count too: a bound, not a parse)."""
    depth = deepest = 0
    for char in _NOT_BRACKET.sub("", line):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def write_history(path: str | os.PathLike[str], history: History) -> None:
    """Write a whole history atomically: a crash leaves the old file or the new one."""
    from fnosweep.files import write_atomic

    write_atomic(path, "".join(line + "\n" for line in history.to_lines()), "the history")


def append_line(path: str | os.PathLike[str], obj: Mapping[str, Any]) -> None:
    """Append one line with a single write, flushed to disk: a crash never leaves half a line."""
    data = (dumps(obj) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


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
