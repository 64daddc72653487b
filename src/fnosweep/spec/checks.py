"""Field checks: each validates and normalises one value, and names what it expected.

A search bound or choice goes through the same check as the field it searches, so
`lr: 0` and a search with `low: 0` are refused by the same rule. A check raises
`Invalid`; the parser adds the key path and line (`ParseContext`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fnosweep.errors import SpecError
from fnosweep.spec._yaml import KeyPath, show_name
from fnosweep.spec.vocabulary import BACKENDS, LOSSES, OPTIMIZERS, PRECISIONS, PROBLEMS, SCHEDULERS


class Invalid(Exception):
    """A value a check refuses: `what` says what was expected; `at` a sub-path (list items)."""

    def __init__(self, what: str, value: Any, at: KeyPath = ()) -> None:
        super().__init__(what)
        self.what, self.value, self.at = what, value, at


@dataclass(frozen=True)
class Check:
    """Validates and normalises one field value; `kind` says which numeric search fits."""

    fn: Callable[[Any], Any]
    kind: Literal["float", "int", "other"] = "other"

    def __call__(self, value: Any) -> Any:
        return self.fn(value)


_BOOL_HINT = "YAML 1.1 reads yes/no/on/off/true/false as booleans"


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise Invalid(f"must be a number ({_BOOL_HINT})", value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:  # PyYAML (YAML 1.1) reads 1e-3 as a string: a number is what the user meant
            return float(value.strip())
        except ValueError:
            pass
    raise Invalid("must be a number", value)


def _bounds_text(gt: float | None, ge: float | None, lt: float | None, le: float | None) -> str:
    lo, hi = (gt if gt is not None else ge), (lt if lt is not None else le)
    if lo is not None and hi is not None:
        opening, closing = "(" if gt is not None else "[", ")" if lt is not None else "]"
        return f"must be in {opening}{lo:g}, {hi:g}{closing}"
    if lo is not None:
        return f"must be {'>' if gt is not None else '>='} {lo:g}"
    return f"must be {'<' if lt is not None else '<='} {hi:g}"


def _in_bounds(x: float, gt: float | None, ge: float | None, lt: float | None,
               le: float | None) -> bool:
    return not ((gt is not None and not x > gt) or (ge is not None and not x >= ge)
                or (lt is not None and not x < lt) or (le is not None and not x <= le))


def real(*, gt: float | None = None, ge: float | None = None, lt: float | None = None,
         le: float | None = None) -> Check:
    """A finite float within the given bounds; numeric strings such as `1e-3` are read."""
    def check(value: Any) -> float:
        x = _number(value)
        try:
            x = float(x)
        except OverflowError:
            raise Invalid("must be a finite number", value) from None
        if not math.isfinite(x):
            raise Invalid("must be a finite number", value)
        if not _in_bounds(x, gt, ge, lt, le):
            raise Invalid(_bounds_text(gt, ge, lt, le), x)
        return x

    return Check(check, "float")


def integer(*, ge: int | None = None) -> Check:
    """An int (a whole float such as `4.0` is taken as one), at least `ge`."""
    def check(value: Any) -> int:
        x = _number(value)
        if isinstance(x, float):
            if not x.is_integer():  # False for nan and inf too
                raise Invalid("must be an integer", value)
            x = int(x)
        if ge is not None and x < ge:
            raise Invalid(f"must be >= {ge}", x)
        return x

    return Check(check, "int")


def _bool_check(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be true or false", value)
    return value


BOOL = Check(_bool_check)


def string(pattern: str | None = None, what: str = "a string") -> Check:
    """A string matching `pattern` in full; `what` is how messages describe it."""
    def check(value: Any) -> str:
        if isinstance(value, bool):
            raise Invalid(f"must be {what}; {_BOOL_HINT}, so quote it", value)
        if not isinstance(value, str) or (pattern and not re.fullmatch(pattern, value)):
            raise Invalid(f"must be {what}", value)
        return value

    return Check(check)


def choice(*options: str) -> Check:
    """One of `options`."""
    text = f"one of {', '.join(options)}"

    def check(value: Any) -> str:
        if string(what=text)(value) not in options:
            raise Invalid(f"must be {text}", value)
        return value

    return Check(check)


def optional(inner: Check) -> Check:
    """Null, or a value `inner` accepts."""
    return Check(lambda value: None if value is None else inner(value), inner.kind)


def list_of(inner: Check, *, min_len: int = 1) -> Check:
    """A list (stored as a tuple) of at least `min_len` values `inner` accepts."""
    def check(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple) or len(value) < min_len:
            raise Invalid(f"must be a list of at least {min_len} value(s)", value)
        out = []
        for i, item in enumerate(value):
            try:
                out.append(inner(item))
            except Invalid as e:
                raise Invalid(f"each item {e.what}", e.value, (f"[{i}]",)) from None
        return tuple(out)

    return Check(check)


def number_or_list(inner: Check) -> Check:
    """One value or a list of values `inner` accepts (neuralop takes either)."""
    return Check(lambda v: list_of(inner)(v) if isinstance(v, list | tuple) else inner(v))


def plain(value: Any) -> Any:
    """JSON-like data for Optuna and neuralop arguments; 1e-3 strings become numbers."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value.strip()):
            return float(value)  # YAML 1.1 missed a number; no other string is touched
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: plain(v) for k, v in value.items()}
    raise Invalid("must be plain data (null, booleans, numbers, strings, lists, mappings)", value)


def _plain_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid("must be a mapping", value)
    return plain(value)


NAME_MAX = 100
"""A study or data name names files (studies/<name>.db, <name>_train_64.pt, their temporaries:
255 bytes at most on most file systems) and database rows (Optuna's varchar(512))."""
_NAME_CHARS = string(r"[A-Za-z0-9_.-]+", "a name of letters, digits, _, . and -")


def _name(value: Any) -> str:
    name = _NAME_CHARS(value)
    if len(name) > NAME_MAX:
        raise Invalid(f"must be at most {NAME_MAX} characters (it names files and database rows; "
                      f"this one has {len(name)})", value)
    return name


NAME = Check(_name)
_DEVICE = string(r"auto|cpu|cuda(:\d+)?", "auto, cpu, cuda or cuda:N")
_RESOLUTION = integer(ge=4)

# Field checks by section. Dataclass defaults supply missing values; parse_* add the
# defaults that depend on other fields (storage, metric, data.name, test_resolutions).
DATA_FIELDS: dict[str, Check] = {
    "problem": choice(*PROBLEMS), "root": string(r".+", "a directory"), "name": NAME,
    "resolution": _RESOLUTION, "test_resolutions": list_of(_RESOLUTION),
    "n_train": integer(ge=1), "n_test": integer(ge=1), "seed": integer(ge=0),
    "viscosity": real(gt=0), "t_final": real(gt=0), "dt": real(gt=0), "t0": real(ge=0),
    "normalize_output": BOOL,
}
MODEL_FIELDS: dict[str, Check] = {
    "n_modes": list_of(integer(ge=1)), "hidden_channels": integer(ge=1), "n_layers": integer(ge=1),
}
_SKIP = optional(choice("linear", "identity", "soft-gating"))
FNO_FIELDS: dict[str, Check] = {
    "lifting_channel_ratio": real(gt=0), "projection_channel_ratio": real(gt=0),
    "positional_embedding": optional(choice("grid")),
    "norm": optional(choice("ada_in", "group_norm", "instance_norm")),
    "complex_data": BOOL, "use_channel_mlp": BOOL,
    "channel_mlp_dropout": real(ge=0, lt=1), "channel_mlp_expansion": real(gt=0),
    "channel_mlp_skip": _SKIP, "fno_skip": _SKIP,
    "resolution_scaling_factor": optional(number_or_list(real(gt=0))),
    "domain_padding": optional(number_or_list(real(ge=0))),
    "fno_block_precision": choice("full", "half", "mixed"),
    "stabilizer": optional(choice("tanh")),
    "max_n_modes": optional(list_of(integer(ge=1))),
    "factorization": optional(string(r"\w+", "a tensor factorization such as tucker, cp, tt")),
    "rank": real(gt=0), "fixed_rank_modes": BOOL,
    "implementation": choice("factorized", "reconstructed"),
    "decomposition_kwargs": optional(Check(_plain_mapping)),
    "separable": BOOL, "preactivation": BOOL,
}
FNO_ARGS: tuple[str, ...] = tuple(FNO_FIELDS)
"""`neuralop.models.FNO` (neuraloperator 2.0) keyword arguments a spec may set under
`model` besides n_modes, hidden_channels and n_layers. Left out: `in_channels` and
`out_channels` (the data decides them), `non_linearity` and `conv_module` (Python objects)."""
SCHEDULER_FIELDS: dict[str, Check] = {
    "type": choice(*SCHEDULERS), "step_size": integer(ge=1), "gamma": real(gt=0, le=1),
    "T_max": optional(integer(ge=1)), "eta_min": real(ge=0), "factor": real(gt=0, lt=1),
    "patience": integer(ge=0),
}
TRAINING_FIELDS: dict[str, Check] = {
    "optimizer": choice(*OPTIMIZERS), "lr": real(gt=0), "weight_decay": real(ge=0),
    "momentum": real(ge=0, lt=1), "clip_threshold": optional(real(gt=0)),
    "batch_size": integer(ge=1), "epochs": integer(ge=1), "loss": choice(*LOSSES),
    "device": _DEVICE, "seed": integer(ge=0), "skip_nonfinite": BOOL, "precision": choice(*PRECISIONS),
}
RESOURCES_FIELDS: dict[str, Check] = {
    "cpu": real(gt=0), "gpu": real(ge=0), "memory_mb": optional(integer(ge=1)),
}
EXECUTION_FIELDS: dict[str, Check] = {
    "backend": choice(*BACKENDS), "address": optional(string(r".+", "a Ray address")),
    "max_concurrent": integer(ge=1), "retries": integer(ge=0), "trial_timeout_s": real(gt=0),
}

SEARCHABLE_FIELDS: dict[str, Check] = {
    **{f"data.{k}": c for k, c in DATA_FIELDS.items()},
    **{f"model.{k}": c for k, c in {**MODEL_FIELDS, **FNO_FIELDS}.items()},
    **{f"training.{k}": c for k, c in TRAINING_FIELDS.items()},
    **{f"training.scheduler.{k}": c for k, c in SCHEDULER_FIELDS.items()},
}
"""Every field a search key or a trial parameter may name, with its check."""


def show_value(value: Any) -> str:
    """A refused value as messages show it: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_value(key: str, value: Any) -> Any:
    """Check a value for a dotted field key as the spec checks it; return it normalised.

    Raises `SpecError` for a key that names no field or a value the field refuses.
    """
    if key not in SEARCHABLE_FIELDS:
        raise SpecError(f"{show_name(key)}: names no field of data, model or training")
    try:
        return SEARCHABLE_FIELDS[key](value)
    except Invalid as e:
        raise SpecError(f"{key}: {e.what}, but got {show_value(e.value)}") from None
