"""The monitor's inputs, checked where they enter: parameters, run line, history path,
the loss reduction and the eval values.

Each check raises `MonitorError` with one line that names the bad value."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from fnosweep.errors import MonitorError
from fnosweep.history import RunInfo

Reduction = Literal["sum", "mean"]
"""How the training loss the monitor observes was reduced over the batch."""

_MEASURED = ("n_params", "n_param_elements", "clip_threshold")
"""Run fields the monitor knows for certain: a different value from the caller is an error."""


def select_parameters(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[tuple[str, Tensor]]:
    """The (name, parameter) pairs to monitor: the model's trainable parameters that the
    optimizer holds (an optimizer over part of the model monitors that part)."""
    if not isinstance(model, nn.Module):
        raise MonitorError(f"model must be a torch.nn.Module, but got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        name = type(optimizer).__name__
        raise MonitorError(f"optimizer must be a torch.optim.Optimizer, but got {name}")
    kind = type(model).__name__
    named = list(model.named_parameters())
    if not named:
        raise MonitorError(f"the model ({kind}) has no parameters: nothing to monitor")
    trainable = [(n, p) for n, p in named if p.requires_grad]
    if not trainable:
        raise MonitorError(f"the model ({kind}) has no trainable parameters (requires_grad=False)")
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    monitored: list[tuple[str, Tensor]] = [(n, p) for n, p in trainable if id(p) in held]
    if not monitored:
        raise MonitorError(
            f"the optimizer holds none of the model's {len(trainable)} trainable parameters "
            "(was it built for another model, or before the model was re-created?)"
        )
    devices = sorted({str(p.device) for _, p in monitored})
    if len(devices) > 1:
        raise MonitorError(f"the parameters are on several devices ({', '.join(devices)}); one only")
    return monitored


def check_clip_threshold(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise MonitorError(f"clip_threshold must be a finite number > 0 or None (no clipping), but got {value!r}")
    return float(value)


def check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MonitorError(f"{name} must be a whole number >= {minimum}, but got {value!r}")
    return value


def count_params(model: nn.Module) -> tuple[int, int]:
    """(count as ``neuralop.utils.count_model_params``: a complex weight counts twice,
    count of tensor elements) over all of the model's parameters."""
    params = list(model.parameters())
    n_params = sum(p.numel() * 2 if p.is_complex() else p.numel() for p in params)
    return n_params, sum(p.numel() for p in params)


def build_run_info(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    clip_threshold: float | None,
    given: Mapping[str, Any] | RunInfo | None,
) -> RunInfo:
    """The caller's run description, completed with what the monitor can see."""
    if given is None:
        fields: dict[str, Any] = {}
    elif isinstance(given, RunInfo):
        fields = given.to_dict()
    elif isinstance(given, Mapping):
        fields = dict(given)
    else:
        raise MonitorError(f"run_info must be a dict or a RunInfo, but got {type(given).__name__}")
    fields = {k: v for k, v in fields.items() if v is not None and k not in ("kind", "params_per_sample")}

    n_params, n_elements = count_params(model)
    measured = {
        "n_params": n_params,
        "n_param_elements": n_elements,
        "clip_threshold": clip_threshold,
    }
    for key in _MEASURED:
        if key in fields and fields[key] != measured[key]:
            raise MonitorError(f"run_info[{key!r}] is {fields[key]!r}, but the monitor measures {measured[key]!r}")
    group = optimizer.param_groups[0]
    lr = group.get("lr")
    inferred = {
        "optimizer": type(optimizer).__name__.lower(),
        "lr": float(lr) if lr is not None else None,  # construction time: a read is fine here
        "weight_decay": group.get("weight_decay"),
    }
    merged = {**inferred, **fields, **measured}
    try:
        return RunInfo.from_dict(merged)
    except ValueError as e:
        raise MonitorError(f"run_info: {e}") from None


def check_history_path(path: str | os.PathLike[str] | None) -> Path | None:
    """A history path that can be created, refused before anything is written."""
    if path is None:
        return None
    p = Path(path)
    if not p.parent.is_dir():
        raise MonitorError(f"history {p}: the directory {p.parent} does not exist")
    if p.is_dir():
        raise MonitorError(f"history {p}: is a directory, expected a file path (run.jsonl)")
    if p.exists() and p.stat().st_size > 0:
        raise MonitorError(f"history {p}: already holds a history; choose a new path or remove the file")
    return p


def check_reduction(value: Any) -> Reduction:
    if value not in ("sum", "mean"):
        raise MonitorError(f"reduction must be 'sum' or 'mean', but got {value!r}")
    return value


def check_eval(eval: Mapping[str, Any] | None) -> dict[str, Any]:
    """`eval` checked, numbers as floats; one-element tensors are kept, to be read in the
    epoch's one transfer (a float() here would be a device read of its own)."""
    if eval is None:
        return {}
    if not isinstance(eval, Mapping):
        got = type(eval).__name__
        raise MonitorError(f"eval must be a mapping like {{'32_l2': 0.05}}, but got {got}")
    out: dict[str, Any] = {}
    for key, value in eval.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(value, Tensor) and value.numel() == 1 and not value.is_complex():
            out[str(key)] = value
        elif value is None or number:
            out[str(key)] = None if value is None else float(value)
        else:
            raise MonitorError(f"eval[{key!r}] must be a number or a one-element tensor, but got {value!r}")
    return out
