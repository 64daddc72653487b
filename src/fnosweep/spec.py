"""The sweep spec: YAML → frozen, typed, validated objects.

`load_spec` reads a file (with the line of every key), applies `--set` overrides and
hands the document to `parse_spec`, which checks everything once, at the boundary:
every rejection is one `SpecError` line, `<file>:<line>: <key path>: <what is wrong>,
but got <value>`. Each field is checked by one small check function; a search bound
or choice goes through the same check as the field it searches, so `lr: 0` and a
search with `low: 0` are refused by the same rule.

This module imports neither torch, ray, neuralop nor optuna: `fnosweep validate` stays
light. Sampler and pruner argument names come from a static table here (a test keeps
it equal to Optuna's signatures); `load_spec` also builds them through `space.py`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fnosweep._yaml import (
    KeyPath,
    Locator,
    apply_overrides,
    load_document,
    render_path,
    show_name,
)
from fnosweep.diagnose.thresholds import VERDICTS, Thresholds
from fnosweep.errors import SpecError

# ----------------------------------------------------------------------------- vocabularies

PROBLEMS = ("darcy", "navier-stokes", "files")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("none", "step", "cosine", "plateau")
LOSSES = ("l2", "h1")
BACKENDS = ("ray", "inline")
DIRECTIONS = ("minimize", "maximize")
SEARCH_TYPES = ("float", "int", "categorical")

SAMPLERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tpe": ("TPESampler", ("consider_prior", "prior_weight", "consider_magic_clip",
                           "consider_endpoints", "n_startup_trials", "n_ei_candidates",
                           "multivariate", "group", "warn_independent_sampling",
                           "constant_liar")),
    "random": ("RandomSampler", ()),
    "cmaes": ("CmaEsSampler", ("x0", "sigma0", "n_startup_trials", "warn_independent_sampling",
                               "consider_pruned_trials", "restart_strategy", "popsize",
                               "inc_popsize", "use_separable_cma", "with_margin", "lr_adapt")),
    "qmc": ("QMCSampler", ("qmc_type", "scramble", "warn_asynchronous_seeding",
                           "warn_independent_sampling")),
    "gp": ("GPSampler", ("n_startup_trials", "deterministic_objective",
                         "warn_independent_sampling")),
}
"""Sampler type → (class in `optuna.samplers`, keyword arguments a spec may set besides
`seed`). Arguments that take Python objects (callables, samplers, trials) are left out:
a YAML file cannot give them."""

PRUNERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "median": ("MedianPruner", ("n_startup_trials", "n_warmup_steps", "interval_steps",
                                "n_min_trials"), ()),
    "percentile": ("PercentilePruner", ("percentile", "n_startup_trials", "n_warmup_steps",
                                        "interval_steps", "n_min_trials"), ("percentile",)),
    "hyperband": ("HyperbandPruner", ("min_resource", "max_resource", "reduction_factor",
                                      "bootstrap_count"), ()),
    "successive_halving": ("SuccessiveHalvingPruner", ("min_resource", "reduction_factor",
                                                       "min_early_stopping_rate",
                                                       "bootstrap_count"), ()),
    "threshold": ("ThresholdPruner", ("lower", "upper", "n_warmup_steps", "interval_steps"), ()),
    "patient": ("PatientPruner", ("wrapped_pruner", "patience", "min_delta"), ("patience",)),
    "wilcoxon": ("WilcoxonPruner", ("p_threshold", "n_startup_steps"), ()),
    "none": ("NopPruner", (), ()),
}
"""Pruner type → (class in `optuna.pruners`, keyword arguments, required ones).
`patient`'s `wrapped_pruner` is itself a pruner mapping (`{type: median, ...}`) or null."""

# ------------------------------------------------------------------------------ the spec


@dataclass(frozen=True, kw_only=True)
class SamplerSpec:
    """Which Optuna sampler proposes parameters."""

    type: str = "tpe"
    """One of `SAMPLERS`: tpe, random, cmaes, qmc, gp."""
    seed: int | None = None
    """Seed of the sampler; null draws one."""
    args: Mapping[str, Any] = field(default_factory=dict)
    """Other keyword arguments of that sampler class (names checked against `SAMPLERS`)."""


@dataclass(frozen=True, kw_only=True)
class PrunerSpec:
    """Which Optuna pruner stops hopeless trials (stability rules prune on top of it)."""

    type: str = "median"
    """One of `PRUNERS`; `none` never prunes on the metric."""
    args: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of that pruner class (names checked against `PRUNERS`)."""


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    """The Optuna study: where it lives, what it optimises and for how many trials."""

    name: str
    """Study name: letters, digits, `_`, `.`, `-`."""
    storage: str = field(repr=False)  # it may hold a password: keep it out of logs
    """Database URL, `${VAR}` already replaced from the environment (default
    `sqlite:///studies/{name}.db`, relative to the current directory as in Optuna)."""
    n_trials: int
    """Trials the study holds when the sweep is done (a resumed run adds only the rest)."""
    direction: Literal["minimize", "maximize"] = "minimize"
    """Whether a lower or a higher metric is better."""
    metric: str = "eval.32_l2"
    """`eval.<res>_<l2|h1>` (res among data.test_resolutions) or `train_loss`."""
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    """Sampler of the study."""
    pruner: PrunerSpec = field(default_factory=PrunerSpec)
    """Pruner of the study."""
    storage_source: str | None = field(default=None, compare=False, repr=False)
    """`storage` as the spec wrote it, `${VAR}` unreplaced (null: same as `storage`).
    `to_dict` writes this, so a stored or shipped spec carries no password."""


@dataclass(frozen=True, kw_only=True)
class DataSpec:
    """The PDE data a trial trains on (generated offline into neuralop's `.pt` format)."""

    problem: Literal["darcy", "navier-stokes", "files"] = "darcy"
    """Which PDE; `files` uses existing `{name}_train_{res}.pt` files under `root`."""
    root: str = "data"
    """Directory of the `.pt` files."""
    name: str = "darcy"
    """File name prefix (default `darcy` / `navier_stokes`; required for `files`)."""
    resolution: int = 32
    """Training resolution (grid points per side, >= 4)."""
    test_resolutions: tuple[int, ...] = (32,)
    """Resolutions evaluated after each epoch (default: the training resolution)."""
    n_train: int = 500
    """Training samples."""
    n_test: int = 100
    """Test samples per test resolution."""
    seed: int = 0
    """Seed of the data generator."""
    viscosity: float = 1e-3
    """Navier–Stokes viscosity (navier-stokes only)."""
    t_final: float = 10.0
    """Navier–Stokes final time (navier-stokes only)."""
    dt: float = 1e-3
    """Navier–Stokes time step (navier-stokes only)."""
    normalize_output: bool = True
    """Whether targets are normalised with training statistics."""


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """The FNO: its three main sizes plus any other `neuralop.models.FNO` argument."""

    n_modes: tuple[int, ...] = (12, 12)
    """Fourier modes kept per dimension."""
    hidden_channels: int = 32
    """Width of the FNO blocks."""
    n_layers: int = 4
    """Number of FNO blocks."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Other FNO keyword arguments (names in `FNO_ARGS`), lists stored as tuples."""

    def fno_kwargs(self) -> dict[str, Any]:
        """All keyword arguments for `neuralop.models.FNO` except `in_channels` and
        `out_channels`, which the trial takes from the data."""
        return {
            "n_modes": self.n_modes,
            "hidden_channels": self.hidden_channels,
            "n_layers": self.n_layers,
            **self.extra,
        }


@dataclass(frozen=True, kw_only=True)
class SchedulerSpec:
    """Learning-rate schedule; the fields of the other types are ignored."""

    type: Literal["none", "step", "cosine", "plateau"] = "cosine"
    """none, step (StepLR), cosine (CosineAnnealingLR) or plateau (ReduceLROnPlateau)."""
    step_size: int = 10
    """step: epochs between decays."""
    gamma: float = 0.5
    """step: decay factor, in (0, 1]."""
    T_max: int | None = None
    """cosine: epochs of the half period; null means training.epochs."""
    eta_min: float = 0.0
    """cosine: final learning rate."""
    factor: float = 0.5
    """plateau: decay factor, in (0, 1)."""
    patience: int = 5
    """plateau: epochs without improvement before a decay."""


@dataclass(frozen=True, kw_only=True)
class TrainingSpec:
    """How one trial trains its model."""

    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    """Optimizer."""
    lr: float = 1e-3
    """Initial learning rate (> 0)."""
    weight_decay: float = 1e-4
    """Weight decay (>= 0)."""
    momentum: float = 0.9
    """sgd momentum, in [0, 1)."""
    clip_threshold: float | None = None
    """Total gradient norm to clip to; null does not clip (norms are still measured)."""
    scheduler: SchedulerSpec = field(default_factory=SchedulerSpec)
    """Learning-rate schedule."""
    batch_size: int = 16
    """Samples per step."""
    epochs: int = 20
    """Epochs per trial (the pruner's step is the epoch)."""
    loss: Literal["l2", "h1"] = "h1"
    """Training loss: relative L2 or H1."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    seed: int = 0
    """Seed of model initialisation and batch order."""
    skip_nonfinite: bool = False
    """Skip an optimizer step whose loss or gradient is not finite (else it is taken)."""


@dataclass(frozen=True, kw_only=True)
class SearchParam:
    """One searched field: an Optuna distribution, maybe conditional on other parameters."""

    key: str
    """Dotted field key, e.g. `training.lr`, `training.scheduler.step_size`, `model.rank`."""
    type: Literal["float", "int", "categorical"]
    """Distribution type."""
    low: float | int | None = None
    """Lower bound (float/int)."""
    high: float | int | None = None
    """Upper bound, inclusive (float/int)."""
    log: bool = False
    """Sample on a log scale (float/int; low > 0, no step)."""
    step: float | int | None = None
    """Grid step (int: 1 unless given; float: null for a continuous range)."""
    choices: tuple[Any, ...] | None = None
    """Values of a categorical parameter (null allowed), checked as values of the field."""
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Suggested only when every named searched parameter took one of these values."""


@dataclass(frozen=True, kw_only=True)
class StabilitySpec:
    """Stability rules: which verdicts prune a trial, and the thresholds of the rules."""

    prune_on: tuple[str, ...] = ("diverged", "exploding_gradients")
    """Verdict codes that prune a trial as soon as a rule finds them."""
    thresholds: Thresholds = field(default_factory=Thresholds)
    """When each rule fires."""


@dataclass(frozen=True, kw_only=True)
class ResourcesSpec:
    """Ray resources of one trial."""

    cpu: float = 1.0
    """CPUs per trial (> 0)."""
    gpu: float = 0.0
    """GPUs per trial (>= 0; fractions share a GPU)."""
    memory_mb: int | None = None
    """Memory reserved per trial in MiB; null reserves none."""


@dataclass(frozen=True, kw_only=True)
class ExecutionSpec:
    """Where and how many trials run."""

    backend: Literal["ray", "inline"] = "ray"
    """ray (tasks on a local or remote Ray) or inline (in the driver process, for tests)."""
    address: str | None = None
    """Ray address; null starts a local Ray."""
    max_concurrent: int = 2
    """Trials running at once."""
    resources: ResourcesSpec = field(default_factory=ResourcesSpec)
    """Resources of one trial."""
    retries: int = 1
    """Times a trial whose worker died is retried."""
    trial_timeout_s: float = 3600.0
    """Seconds after which a running trial is cancelled and failed."""


@dataclass(frozen=True, kw_only=True)
class SweepSpec:
    """A whole sweep, validated: build it with `load_spec` or `parse_spec`."""

    study: StudySpec
    """The Optuna study."""
    data: DataSpec
    """The PDE data."""
    model: ModelSpec
    """The base model (searched fields override it per trial)."""
    training: TrainingSpec
    """The base training config (searched fields override it per trial)."""
    search: tuple[SearchParam, ...]
    """The search space, in spec order, never empty."""
    stability: StabilitySpec
    """Stability pruning and diagnosis thresholds."""
    execution: ExecutionSpec
    """Where trials run."""
    source: str = "<spec>"
    """Where the spec came from (a file name), for messages."""

    @property
    def budget_epochs(self) -> int:
        """Most epochs the sweep can train: n_trials × epochs (× the top of a searched range)."""
        return self.study.n_trials * _max_epochs(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able document; `parse_spec(spec.to_dict()) == spec` (source aside).

        The storage is written as the spec wrote it: `${VAR}` stays `${VAR}`, so no
        password leaves the environment, and parsing it again needs that variable.
        """
        return _spec_to_dict(self)


@dataclass(frozen=True, kw_only=True)
class TrialConfig:
    """Everything one trial needs, small and picklable: it crosses the Ray boundary."""

    study_name: str
    """Study the trial belongs to."""
    trial_number: int
    """Optuna trial number."""
    attempt: int = 0
    """0 for the first run, then 1, 2... for retries."""
    params: Mapping[str, Any]
    """The suggested parameters, by dotted key (already applied to the fields below)."""
    data: DataSpec
    """Data of this trial."""
    model: ModelSpec
    """Model of this trial."""
    training: TrainingSpec
    """Training of this trial (scheduler.T_max resolved)."""
    metric: str
    """The study's metric, e.g. `eval.32_l2`."""


# --------------------------------------------------------------------------- value checks


class _Invalid(Exception):
    """A value a check refuses: `what` says what was expected; `at` a sub-path (list items)."""

    def __init__(self, what: str, value: Any, at: KeyPath = ()) -> None:
        super().__init__(what)
        self.what, self.value, self.at = what, value, at


@dataclass(frozen=True)
class _Check:
    """Validates and normalises one field value; `kind` says which numeric search fits."""

    fn: Callable[[Any], Any]
    kind: Literal["float", "int", "other"] = "other"

    def __call__(self, value: Any) -> Any:
        return self.fn(value)


_BOOL_HINT = "YAML 1.1 reads yes/no/on/off/true/false as booleans"


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise _Invalid(f"must be a number ({_BOOL_HINT})", value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:  # PyYAML (YAML 1.1) reads 1e-3 as a string: a number is what the user meant
            return float(value.strip())
        except ValueError:
            pass
    raise _Invalid("must be a number", value)


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


def _float(*, gt: float | None = None, ge: float | None = None, lt: float | None = None,
           le: float | None = None) -> _Check:
    def check(value: Any) -> float:
        x = _number(value)
        try:
            x = float(x)
        except OverflowError:
            raise _Invalid("must be a finite number", value) from None
        if not math.isfinite(x):
            raise _Invalid("must be a finite number", value)
        if not _in_bounds(x, gt, ge, lt, le):
            raise _Invalid(_bounds_text(gt, ge, lt, le), x)
        return x

    return _Check(check, "float")


def _int(*, ge: int | None = None) -> _Check:
    def check(value: Any) -> int:
        x = _number(value)
        if isinstance(x, float):
            if not x.is_integer():  # False for nan and inf too
                raise _Invalid("must be an integer", value)
            x = int(x)
        if ge is not None and x < ge:
            raise _Invalid(f"must be >= {ge}", x)
        return x

    return _Check(check, "int")


def _bool_check(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("must be true or false", value)
    return value


_BOOL = _Check(_bool_check)


def _str(pattern: str | None = None, what: str = "a string") -> _Check:
    def check(value: Any) -> str:
        if isinstance(value, bool):
            raise _Invalid(f"must be {what}; {_BOOL_HINT}, so quote it", value)
        if not isinstance(value, str) or (pattern and not re.fullmatch(pattern, value)):
            raise _Invalid(f"must be {what}", value)
        return value

    return _Check(check)


def _choice(*options: str) -> _Check:
    text = f"one of {', '.join(options)}"

    def check(value: Any) -> str:
        if _str(what=text)(value) not in options:
            raise _Invalid(f"must be {text}", value)
        return value

    return _Check(check)


def _optional(inner: _Check) -> _Check:
    return _Check(lambda value: None if value is None else inner(value), inner.kind)


def _items(inner: _Check, *, min_len: int = 1) -> _Check:
    def check(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple) or len(value) < min_len:
            raise _Invalid(f"must be a list of at least {min_len} value(s)", value)
        out = []
        for i, item in enumerate(value):
            try:
                out.append(inner(item))
            except _Invalid as e:
                raise _Invalid(f"each item {e.what}", e.value, (f"[{i}]",)) from None
        return tuple(out)

    return _Check(check)


def _number_or_items(inner: _Check) -> _Check:
    return _Check(lambda v: _items(inner)(v) if isinstance(v, list | tuple) else inner(v))


def _plain(value: Any) -> Any:
    """JSON-like data for Optuna and neuralop arguments; 1e-3 strings become numbers."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value.strip()):
            return float(value)  # YAML 1.1 missed a number; no other string is touched
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    raise _Invalid("must be plain data (null, booleans, numbers, strings, lists, mappings)", value)


def _plain_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid("must be a mapping", value)
    return _plain(value)


_NAME = _str(r"[A-Za-z0-9_.-]+", "a name of letters, digits, _, . and -")
_DEVICE = _str(r"auto|cpu|cuda(:\d+)?", "auto, cpu, cuda or cuda:N")
_RESOLUTION = _int(ge=4)

# Field checks by section. Dataclass defaults supply missing values; parse_* add the
# defaults that depend on other fields (storage, metric, data.name, test_resolutions).
_DATA: dict[str, _Check] = {
    "problem": _choice(*PROBLEMS), "root": _str(r".+", "a directory"), "name": _NAME,
    "resolution": _RESOLUTION, "test_resolutions": _items(_RESOLUTION),
    "n_train": _int(ge=1), "n_test": _int(ge=1), "seed": _int(ge=0),
    "viscosity": _float(gt=0), "t_final": _float(gt=0), "dt": _float(gt=0),
    "normalize_output": _BOOL,
}
_NS_ONLY = ("viscosity", "t_final", "dt")
_MODEL: dict[str, _Check] = {
    "n_modes": _items(_int(ge=1)), "hidden_channels": _int(ge=1), "n_layers": _int(ge=1),
}
_SKIP = _optional(_choice("linear", "identity", "soft-gating"))
_FNO: dict[str, _Check] = {
    "lifting_channel_ratio": _float(gt=0), "projection_channel_ratio": _float(gt=0),
    "positional_embedding": _optional(_choice("grid")),
    "norm": _optional(_choice("ada_in", "group_norm", "instance_norm")),
    "complex_data": _BOOL, "use_channel_mlp": _BOOL,
    "channel_mlp_dropout": _float(ge=0, lt=1), "channel_mlp_expansion": _float(gt=0),
    "channel_mlp_skip": _SKIP, "fno_skip": _SKIP,
    "resolution_scaling_factor": _optional(_number_or_items(_float(gt=0))),
    "domain_padding": _optional(_number_or_items(_float(ge=0))),
    "fno_block_precision": _choice("full", "half", "mixed"),
    "stabilizer": _optional(_choice("tanh")),
    "max_n_modes": _optional(_items(_int(ge=1))),
    "factorization": _optional(_str(r"\w+", "a tensor factorization such as tucker, cp, tt")),
    "rank": _float(gt=0), "fixed_rank_modes": _BOOL,
    "implementation": _choice("factorized", "reconstructed"),
    "decomposition_kwargs": _optional(_Check(_plain_mapping)),
    "separable": _BOOL, "preactivation": _BOOL,
}
FNO_ARGS: tuple[str, ...] = tuple(_FNO)
"""`neuralop.models.FNO` (neuraloperator 2.0) keyword arguments a spec may set under
`model` besides n_modes, hidden_channels and n_layers. Left out: `in_channels` and
`out_channels` (the data decides them), `non_linearity` and `conv_module` (Python objects)."""
_SCHEDULER: dict[str, _Check] = {
    "type": _choice(*SCHEDULERS), "step_size": _int(ge=1), "gamma": _float(gt=0, le=1),
    "T_max": _optional(_int(ge=1)), "eta_min": _float(ge=0), "factor": _float(gt=0, lt=1),
    "patience": _int(ge=0),
}
_TRAINING: dict[str, _Check] = {
    "optimizer": _choice(*OPTIMIZERS), "lr": _float(gt=0), "weight_decay": _float(ge=0),
    "momentum": _float(ge=0, lt=1), "clip_threshold": _optional(_float(gt=0)),
    "batch_size": _int(ge=1), "epochs": _int(ge=1), "loss": _choice(*LOSSES),
    "device": _DEVICE, "seed": _int(ge=0), "skip_nonfinite": _BOOL,
}
_RESOURCES: dict[str, _Check] = {
    "cpu": _float(gt=0), "gpu": _float(ge=0), "memory_mb": _optional(_int(ge=1)),
}
_EXECUTION: dict[str, _Check] = {
    "backend": _choice(*BACKENDS), "address": _optional(_str(r".+", "a Ray address")),
    "max_concurrent": _int(ge=1), "retries": _int(ge=0), "trial_timeout_s": _float(gt=0),
}

_FIELDS: dict[str, _Check] = {
    **{f"data.{k}": c for k, c in _DATA.items()},
    **{f"model.{k}": c for k, c in {**_MODEL, **_FNO}.items()},
    **{f"training.{k}": c for k, c in _TRAINING.items()},
    **{f"training.scheduler.{k}": c for k, c in _SCHEDULER.items()},
}
"""Every field a search key or a trial parameter may name, with its check."""


def check_value(key: str, value: Any) -> Any:
    """Check a value for a dotted field key as the spec checks it; return it normalised.

    Raises `SpecError` for a key that names no field or a value the field refuses.
    """
    if key not in _FIELDS:
        raise SpecError(f"{show_name(key)}: names no field of data, model or training")
    try:
        return _FIELDS[key](value)
    except _Invalid as e:
        raise SpecError(f"{key}: {e.what}, but got {_show(e.value)}") from None


# ------------------------------------------------------------------------------- parsing


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class _Ctx:
    """Turns a problem at a key path into one SpecError line."""

    locator: Locator

    def fail(self, path: KeyPath, what: str, value: Any = ...) -> SpecError:
        got = "" if value is ... else f", but got {_show(value)}"
        return SpecError(f"{self.locator.where(path)}: {render_path(path)}: {what}{got}")

    def check(self, check: _Check, value: Any, path: KeyPath) -> Any:
        try:
            return check(value)
        except _Invalid as e:
            raise self.fail((*path, *e.at), e.what, e.value) from None

    def mapping(self, raw: Any, path: KeyPath, allowed: Sequence[str] | None = None
                ) -> dict[str, Any]:
        """A section as a dict (missing or null → empty), unknown keys refused."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise self.fail(path, "must be a mapping of keys to values", raw)
        for key in raw:
            if not isinstance(key, str):
                raise self.fail((*path, repr(key)), "a key must be a string")
            if allowed is not None and key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                mean = f" (did you mean {hint[0]}?)" if hint else ""
                raise self.fail((*path, key), f"unknown key{mean}, expected one of "
                                f"{', '.join(sorted(allowed))}")
        return dict(raw)

    def fields(self, raw: Mapping[str, Any], path: KeyPath, table: Mapping[str, _Check]
               ) -> dict[str, Any]:
        """Checked values of the table's keys present in `raw`."""
        return {k: self.check(c, raw[k], (*path, k)) for k, c in table.items() if k in raw}


_SECTIONS = ("study", "data", "model", "training", "search", "stability", "execution")


def parse_spec(doc: Mapping, *, source: str = "<spec>",
               lines: Mapping[tuple[str, ...], int] | None = None) -> SweepSpec:
    """Validate a plain document (as YAML gives it) into a `SweepSpec`; raises `SpecError`.

    `lines` maps key paths to file lines, for messages. Pure apart from reading the
    environment for `${VAR}` in `study.storage`.
    """
    return _parse(doc, _Ctx(Locator(source, lines or {})))


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> SweepSpec:
    """Read, override (`dotted.key=value`) and validate a spec file; raises `SpecError`.

    Sampler and pruner arguments are also tried on Optuna's own classes here, so a
    value Optuna refuses is reported before anything touches the database.
    """
    doc, lines, source = load_document(path)
    doc, lines, origins = apply_overrides(doc, lines, overrides)
    ctx = _Ctx(Locator(source, lines, origins))
    spec = _parse(doc, ctx)
    from fnosweep import space  # optuna is allowed here; torch and ray are not

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning of some samplers and pruners
        for part, build in (("sampler", space.build_sampler), ("pruner", space.build_pruner)):
            try:
                build(spec)
            except SpecError as e:
                raise SpecError(f"{ctx.locator.where(('study', part))}: {e}") from None
    return spec


def _parse(doc: Any, ctx: _Ctx) -> SweepSpec:
    if not isinstance(doc, Mapping):
        raise ctx.fail((), "a spec must be a mapping of sections (study, data, model, training, "
                       "search, stability, execution)", doc)
    top = ctx.mapping(doc, (), _SECTIONS)
    if "study" not in top:
        raise ctx.fail(("study",), "is required (at least study.name and study.n_trials)")
    data = _parse_data(ctx, top.get("data"))
    model = _parse_model(ctx, top.get("model"), data)
    training = _parse_training(ctx, top.get("training"))
    study = _parse_study(ctx, top["study"], data)
    search = _parse_search(ctx, top.get("search"), data)
    stability = _parse_stability(ctx, top.get("stability"))
    execution = _parse_execution(ctx, top.get("execution"))
    return SweepSpec(study=study, data=data, model=model, training=training, search=search,
                     stability=stability, execution=execution, source=ctx.locator.source)


def _parse_data(ctx: _Ctx, raw: Any) -> DataSpec:
    raw = ctx.mapping(raw, ("data",), tuple(_DATA))
    values = ctx.fields(raw, ("data",), _DATA)
    problem = values.get("problem", "darcy")
    if problem != "navier-stokes":
        for key in _NS_ONLY:
            if key in values:
                raise ctx.fail(("data", key), f"is used only by problem navier-stokes, not "
                               f"{problem}", values[key])
    if "name" not in values:
        if problem == "files":
            raise ctx.fail(("data", "name"), "is required with problem files (files are "
                           "{name}_train_{res}.pt and {name}_test_{res}.pt)")
        values["name"] = problem.replace("-", "_")
    values.setdefault("test_resolutions", (values.get("resolution", DataSpec.resolution),))
    spec = DataSpec(**values)
    if spec.dt > spec.t_final:
        raise ctx.fail(("data", "dt"), f"must be <= t_final ({spec.t_final:g})", spec.dt)
    return spec


def _parse_model(ctx: _Ctx, raw: Any, data: DataSpec) -> ModelSpec:
    raw = ctx.mapping(raw, ("model",), (*_MODEL, *_FNO))
    base = ctx.fields(raw, ("model",), _MODEL)
    extra = ctx.fields(raw, ("model",), _FNO)
    spec = ModelSpec(**base, extra=extra)
    if data.problem != "files" and len(spec.n_modes) != 2:
        raise ctx.fail(("model", "n_modes"), f"must have 2 entries for the 2-D problem "
                       f"{data.problem}", list(spec.n_modes))
    max_modes = extra.get("max_n_modes")
    if max_modes is not None and len(max_modes) != len(spec.n_modes):
        raise ctx.fail(("model", "max_n_modes"), f"must have {len(spec.n_modes)} entries, one "
                       "per entry of n_modes", list(max_modes))
    return spec


def _parse_training(ctx: _Ctx, raw: Any) -> TrainingSpec:
    raw = ctx.mapping(raw, ("training",), (*_TRAINING, "scheduler"))
    values = ctx.fields(raw, ("training",), _TRAINING)
    path = ("training", "scheduler")
    scheduler = ctx.fields(ctx.mapping(raw.get("scheduler"), path, tuple(_SCHEDULER)), path,
                           _SCHEDULER)
    return TrainingSpec(**values, scheduler=SchedulerSpec(**scheduler))


def _parse_execution(ctx: _Ctx, raw: Any) -> ExecutionSpec:
    raw = ctx.mapping(raw, ("execution",), (*_EXECUTION, "resources"))
    values = ctx.fields(raw, ("execution",), _EXECUTION)
    path = ("execution", "resources")
    resources = ctx.fields(ctx.mapping(raw.get("resources"), path, tuple(_RESOURCES)), path,
                           _RESOURCES)
    return ExecutionSpec(**values, resources=ResourcesSpec(**resources))


def _parse_stability(ctx: _Ctx, raw: Any) -> StabilitySpec:
    numbers = {f.name: (_int() if type(f.default) is int else _float())
               for f in dataclasses.fields(Thresholds)}
    raw = ctx.mapping(raw, ("stability",), ("prune_on", *numbers))
    codes = tuple(v for v in VERDICTS if v != "healthy")
    values = ctx.fields(raw, ("stability",), {"prune_on": _items(_choice(*codes), min_len=0)})
    prune_on = values.get("prune_on", StabilitySpec.prune_on)
    if len(set(prune_on)) != len(prune_on):
        raise ctx.fail(("stability", "prune_on"), "lists a verdict twice", list(prune_on))
    try:
        thresholds = Thresholds(**ctx.fields(raw, ("stability",), numbers))
    except (TypeError, ValueError) as e:  # a __post_init__ of Thresholds may refuse a value
        raise ctx.fail(("stability",), f"thresholds refused: {e}") from None
    return StabilitySpec(prune_on=prune_on, thresholds=thresholds)


def _expand_storage(value: str) -> str:
    def env(match: re.Match[str]) -> str:
        name = match.group(1)
        if not os.environ.get(name):
            raise _Invalid(f"environment variable {name} is not set (or empty)", value)
        return os.environ[name]

    url = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", env, value)
    if not re.match(r"[A-Za-z][A-Za-z0-9+]*://", url):
        # the resolved URL may hold a password: show only what the spec wrote
        raise _Invalid("must be a database URL such as sqlite:///studies/x.db or "
                       "postgresql+psycopg://user@host/db (a password belongs in ${VAR})", value)
    return url


def _metric_check(test_resolutions: tuple[int, ...]) -> _Check:
    def check(value: Any) -> str:
        metric = _str(what="train_loss or eval.<resolution>_<l2|h1>")(value)
        if metric == "train_loss":
            return metric
        match = re.fullmatch(r"eval\.(\d+)_(l2|h1)", metric)
        if match is None:
            raise _Invalid("must be train_loss or eval.<resolution>_<l2|h1>, e.g. eval.32_l2",
                           value)
        if int(match.group(1)) not in test_resolutions:
            raise _Invalid("must name one of data.test_resolutions "
                           f"({', '.join(map(str, test_resolutions))})", value)
        return metric

    return _Check(check)


def _parse_study(ctx: _Ctx, raw: Any, data: DataSpec) -> StudySpec:
    path = ("study",)
    raw = ctx.mapping(raw, path, ("name", "storage", "direction", "metric", "n_trials",
                                  "sampler", "pruner"))
    for key in ("name", "n_trials"):
        if key not in raw:
            raise ctx.fail((*path, key), "is required")
    values = ctx.fields(raw, path, {
        "name": _NAME, "n_trials": _int(ge=1), "direction": _choice(*DIRECTIONS),
        "storage": _Check(lambda v: _expand_storage(_str(what="a database URL")(v))),
        "metric": _metric_check(data.test_resolutions),
    })
    values.setdefault("storage", f"sqlite:///studies/{values['name']}.db")
    if "${" in str(raw.get("storage")):
        values["storage_source"] = raw["storage"]
    res = data.resolution if data.resolution in data.test_resolutions else data.test_resolutions[0]
    values.setdefault("metric", f"eval.{res}_l2")
    return StudySpec(**values, sampler=_parse_sampler(ctx, raw.get("sampler")),
                     pruner=_parse_pruner(ctx, raw.get("pruner"), (*path, "pruner")))


def _parse_args(ctx: _Ctx, raw: Mapping[str, Any], path: KeyPath, allowed: Sequence[str],
                what: str, own: Sequence[str]) -> dict[str, Any]:
    """Keyword arguments of an Optuna class: the keys of `raw` other than `own` ones."""
    args = {}
    for key, value in raw.items():
        if key in own:
            continue
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            raise ctx.fail((*path, key), f"not an argument of {what} (arguments: {names})")
        args[key] = ctx.check(_Check(_plain), value, (*path, key))
    return args


def _parse_sampler(ctx: _Ctx, raw: Any) -> SamplerSpec:
    path = ("study", "sampler")
    raw = ctx.mapping(raw, path)
    kind = ctx.check(_choice(*SAMPLERS), raw.get("type", "tpe"), (*path, "type"))
    cls, allowed = SAMPLERS[kind]
    seed = ctx.check(_optional(_int(ge=0)), raw.get("seed"), (*path, "seed"))
    args = _parse_args(ctx, raw, path, allowed, f"optuna.samplers.{cls}",
                       ("type", "seed"))
    return SamplerSpec(type=kind, seed=seed, args=args)


def _parse_pruner(ctx: _Ctx, raw: Any, path: KeyPath) -> PrunerSpec:
    raw = ctx.mapping(raw, path)
    kind = ctx.check(_choice(*PRUNERS), raw.get("type", "median"), (*path, "type"))
    cls, allowed, required = PRUNERS[kind]
    for key in required:
        if key not in raw:
            raise ctx.fail((*path, key), f"is required by pruner {kind}")
    args = _parse_args(ctx, raw, path, allowed, f"optuna.pruners.{cls}", ("type",))
    if kind == "patient" and args.get("wrapped_pruner") is not None:
        inner = _parse_pruner(ctx, raw["wrapped_pruner"], (*path, "wrapped_pruner"))
        args["wrapped_pruner"] = {"type": inner.type, **inner.args}
    return PrunerSpec(type=kind, args=args)


# ------------------------------------------------------------------------------- search

_PARAM_KEYS = {
    "float": ("type", "low", "high", "log", "step", "when"),
    "int": ("type", "low", "high", "log", "step", "when"),
    "categorical": ("type", "choices", "when"),
}
_SEARCHABLE_SECTIONS = ("data", "model", "training")


def _parse_search(ctx: _Ctx, raw: Any, data: DataSpec) -> tuple[SearchParam, ...]:
    raw = ctx.mapping(raw, ("search",))
    if not raw:
        raise ctx.fail(("search",), "the search space is empty; add at least one parameter, "
                       "e.g. training.lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}")
    params = [_parse_param(ctx, key, body, data) for key, body in raw.items()]
    by_key = {p.key: p for p in params}
    params = [dataclasses.replace(p, when=_check_when(ctx, p, by_key)) for p in params]
    _refuse_cycles(ctx, {p.key: tuple(p.when) for p in params})
    return tuple(params)


def _field_check(ctx: _Ctx, key: str, data: DataSpec) -> _Check:
    path = ("search", key)
    section = key.split(".", 1)[0]
    if section in _SECTIONS and section not in _SEARCHABLE_SECTIONS:
        raise ctx.fail(path, f"{section} settings cannot be searched, only fields of data, "
                       "model and training")
    if key not in _FIELDS:
        hint = difflib.get_close_matches(key, _FIELDS, n=1)
        raise ctx.fail(path, "names no field of data, model or training" +
                       (f" (did you mean {hint[0]}?)" if hint else ""))
    if key.startswith("data.") and key[5:] in _NS_ONLY and data.problem != "navier-stokes":
        raise ctx.fail(path, f"is used only by problem navier-stokes, not {data.problem}")
    return _FIELDS[key]


def _parse_param(ctx: _Ctx, key: str, body: Any, data: DataSpec) -> SearchParam:
    path = ("search", key)
    check = _field_check(ctx, key, data)
    if not isinstance(body, Mapping):
        raise ctx.fail(path, "must be a mapping such as {type: float, low: 1, high: 2}", body)
    if "type" not in body:
        raise ctx.fail((*path, "type"), f"is required: one of {', '.join(SEARCH_TYPES)}")
    kind = ctx.check(_choice(*SEARCH_TYPES), body["type"], (*path, "type"))
    body = ctx.mapping(body, path, _PARAM_KEYS[kind])
    when = _parse_when(ctx, body.get("when"), (*path, "when"))
    if kind == "categorical":
        return SearchParam(key=key, type=kind, choices=_parse_choices(ctx, body, path, check),
                           when=when)
    if check.kind != kind:
        fits = "categorical" if check.kind == "other" else f"{check.kind} or categorical"
        raise ctx.fail((*path, "type"), f"does not fit the field; use {fits}", kind)
    low, high = (_bound(ctx, body, (*path, end), check) for end in ("low", "high"))
    if low > high:
        raise ctx.fail((*path, "low"), f"must be <= high ({high})", low)
    log = ctx.check(_BOOL, body.get("log", False), (*path, "log"))
    if log and low <= 0:
        raise ctx.fail((*path, "low"), "must be > 0 with log: true", low)
    step = None
    if "step" in body:
        if log:
            raise ctx.fail((*path, "step"), "cannot be used with log: true", body["step"])
        step = ctx.check(_int(ge=1) if kind == "int" else _float(gt=0), body["step"],
                         (*path, "step"))
        n_steps = (high - low) / step
        if abs(n_steps - round(n_steps)) > 1e-9 * max(1.0, abs(n_steps)):
            raise ctx.fail((*path, "high"), f"high - low must be a multiple of step ({step})",
                           high)
    elif kind == "int":
        step = 1
    return SearchParam(key=key, type=kind, low=low, high=high, log=log, step=step, when=when)


def _bound(ctx: _Ctx, body: Mapping[str, Any], path: KeyPath, check: _Check) -> Any:
    if path[-1] not in body:
        raise ctx.fail(path, "is required")
    if body[path[-1]] is None:
        raise ctx.fail(path, "must be a number", None)
    return ctx.check(check, body[path[-1]], path)


def _parse_choices(ctx: _Ctx, body: Mapping[str, Any], path: KeyPath, check: _Check
                   ) -> tuple[Any, ...]:
    path = (*path, "choices")
    raw = body.get("choices")
    if not isinstance(raw, list | tuple) or not raw:
        raise ctx.fail(path, "must be a non-empty list of values of the field", raw)
    seen: set[tuple[str, Any]] = set()
    choices = []
    for i, item in enumerate(raw):
        at = (*path, f"[{i}]")
        value = ctx.check(check, item, at)
        if not (value is None or isinstance(value, bool | int | float | str)):
            raise ctx.fail(at, "must be null, a boolean, a number or a string (what Optuna can "
                           "store)", item)
        if (type(value).__name__, value) in seen:
            raise ctx.fail(at, "repeats an earlier choice", item)
        seen.add((type(value).__name__, value))
        choices.append(value)
    return tuple(choices)


def _parse_when(ctx: _Ctx, raw: Any, path: KeyPath) -> dict[str, tuple[Any, ...]]:
    raw = ctx.mapping(raw, path)
    when = {}
    for key, values in raw.items():
        values = tuple(values) if isinstance(values, list | tuple) else (values,)
        if not values:
            raise ctx.fail((*path, key), "needs at least one value", [])
        when[key] = values
    return when


def _check_when(ctx: _Ctx, param: SearchParam, by_key: Mapping[str, SearchParam]
                ) -> dict[str, tuple[Any, ...]]:
    """Conditions name other searched parameters and values those can take; normalised."""
    checked = {}
    for key, values in param.when.items():
        path = ("search", param.key, "when", key)
        parent = by_key.get(key)
        if key == param.key:
            raise ctx.fail(path, "a parameter cannot be conditional on itself")
        if parent is None:
            raise ctx.fail(path, "is not a searched parameter (searched: "
                           f"{', '.join(map(show_name, by_key))})")
        if parent.type == "float":
            raise ctx.fail(path, "a condition needs a categorical or int parameter, not float")
        normal = []
        for value in values:
            with contextlib.suppress(_Invalid):  # refused below, naming the possible values
                value = _FIELDS[key](value)
            if parent.type == "categorical":
                ok = any(value == c and type(value) is type(c) for c in parent.choices or ())
                shown = ", ".join(map(repr, parent.choices or ()))
                expected = f"one of the choices of {key} ({shown})"
            else:
                low, high, step = int(parent.low or 0), int(parent.high or 0), int(parent.step or 1)
                ok = (isinstance(value, int) and not isinstance(value, bool)
                      and low <= value <= high and (value - low) % step == 0)
                expected = f"an int {key} can take ({low}..{high} step {step})"
            if not ok:
                raise ctx.fail(path, f"must be {expected}", value)
            normal.append(value)
        checked[key] = tuple(normal)
    return checked


def _refuse_cycles(ctx: _Ctx, parents: Mapping[str, tuple[str, ...]]) -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(key: str, trail: tuple[str, ...]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = trail[trail.index(key):] + (key,)
            raise ctx.fail(("search", key, "when"), "conditions form a cycle: " +
                           " -> ".join(map(show_name, cycle)))
        state[key] = 1
        for parent in parents.get(key, ()):
            visit(parent, (*trail, key))
        state[key] = 2

    for key in parents:
        visit(key, ())


# ----------------------------------------------------------------------------- to_dict


def _max_epochs(spec: SweepSpec) -> int:
    for p in spec.search:
        if p.key == "training.epochs":
            top = p.high if p.type == "int" else max(p.choices or (spec.training.epochs,))
            return int(top if top is not None else spec.training.epochs)
    return spec.training.epochs


def _plain_out(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain_out(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain_out(v) for k, v in value.items()}
    return value


def param_to_dict(param: SearchParam) -> dict[str, Any]:
    """A search parameter as the spec writes it (`type`, bounds or choices, `when`)."""
    out: dict[str, Any] = {"type": param.type}
    if param.type == "categorical":
        out["choices"] = list(param.choices or ())
    else:
        out.update(low=param.low, high=param.high, log=param.log)
        if param.step is not None and not param.log:
            out["step"] = param.step
    if param.when:
        out["when"] = {k: list(v) for k, v in param.when.items()}
    return out


def _spec_to_dict(spec: SweepSpec) -> dict[str, Any]:
    study = spec.study
    data = {f.name: getattr(spec.data, f.name) for f in dataclasses.fields(spec.data)}
    if spec.data.problem != "navier-stokes":
        for key in _NS_ONLY:
            del data[key]
    training = {f.name: getattr(spec.training, f.name) for f in dataclasses.fields(spec.training)}
    training["scheduler"] = dataclasses.asdict(spec.training.scheduler)
    execution = dataclasses.asdict(spec.execution)
    return _plain_out({
        "study": {
            "name": study.name, "storage": study.storage_source or study.storage,
            "direction": study.direction,
            "metric": study.metric, "n_trials": study.n_trials,
            "sampler": {"type": study.sampler.type, "seed": study.sampler.seed,
                        **study.sampler.args},
            "pruner": {"type": study.pruner.type, **study.pruner.args},
        },
        "data": data,
        "model": {"n_modes": spec.model.n_modes, "hidden_channels": spec.model.hidden_channels,
                  "n_layers": spec.model.n_layers, **spec.model.extra},
        "training": training,
        "search": {p.key: param_to_dict(p) for p in spec.search},
        "stability": {"prune_on": spec.stability.prune_on,
                      **dataclasses.asdict(spec.stability.thresholds)},
        "execution": execution,
    })
