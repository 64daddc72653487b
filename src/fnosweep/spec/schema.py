"""The spec as frozen, keyword-only dataclasses, one docstring per field.

These are plain values: `parse_spec` builds them once, validated, and a `TrialConfig`
is small and picklable because it crosses the Ray boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fnosweep.spec.serialize import max_epochs, spec_to_dict
from fnosweep.spec.thresholds import Thresholds


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
    enqueue: tuple[Mapping[str, Any], ...] = ()
    """Trials run first when the study is new: searched parameter → value (checked
    against the search space); parameters an entry leaves out are sampled."""
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
    dt: float = 1e-2
    """Navier–Stokes time step (navier-stokes only). 1e-2 is stable at 64x64 for
    viscosity 1e-3 and its time error (3e-7 relative) is below float32 rounding;
    finer grids need a smaller step (the generator refuses an unstable one)."""
    t0: float = 0.0
    """Navier–Stokes spin-up time before the input snapshot (navier-stokes only): x =
    w(t0), y = w(t0 + t_final); a multiple of dt. 0 (the FNO paper's setup): x = w(0)."""
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
    precision: Literal["fp32", "bf16"] = "fp32"
    """fp32, or bf16: the forward pass (and the loss on its output) under
    `torch.autocast(dtype=bfloat16)`; weights, gradients, optimizer, the monitor's norms and
    clipping, and neuralop's spectral convolutions (FFTs) stay float32."""


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
        return self.study.n_trials * max_epochs(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able document; `parse_spec(spec.to_dict()) == spec` (source aside).

        The storage is written as the spec wrote it: `${VAR}` stays `${VAR}`, so no
        password leaves the environment, and parsing it again needs that variable.
        """
        return spec_to_dict(self)


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
