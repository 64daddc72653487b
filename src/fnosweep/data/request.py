"""The bottom of the data package: what a dataset request is, and every check of its
fields that needs no computation. Generators and the dataset cache import this module;
it imports none of them, so the package has no import circle.

Torch-free (numpy is not needed either): the spec parser runs these checks through
`fnosweep.data.dataset.check_data`, and `import fnosweep.spec` must stay light.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fnosweep.data.io import split_path
from fnosweep.errors import DataError

PROBLEMS = ("darcy", "navier-stokes", "files")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class DataFieldError(DataError):
    """A DataError caused by one field of the data section (`field`, e.g. "dt"), so that
    the spec parser can name that key and its line."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class DataSpecLike(Protocol):
    """The attributes of the spec's `data` section that a request reads (read-only,
    so that frozen dataclasses such as the spec's DataSpec and DataRequest fit)."""

    @property
    def problem(self) -> str: ...
    @property
    def root(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def resolution(self) -> int: ...
    @property
    def test_resolutions(self) -> tuple[int, ...]: ...
    @property
    def n_train(self) -> int: ...
    @property
    def n_test(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def viscosity(self) -> float: ...
    @property
    def t_final(self) -> float: ...
    @property
    def dt(self) -> float: ...


@dataclass(frozen=True)
class DatasetFiles:
    """Where a dataset's splits are: the train file and one test file per resolution."""

    train: Path
    tests: Mapping[int, Path]


@dataclass(frozen=True, kw_only=True)
class DataRequest:
    """A validated description of one dataset (a DataSpec, or the CLI's options)."""

    problem: str
    root: str
    name: str
    resolution: int
    test_resolutions: tuple[int, ...] = ()
    n_train: int = 1
    n_test: int = 1
    seed: int = 0
    viscosity: float = 1e-3
    t_final: float = 1.0
    dt: float = 1e-3
    t0: float = 0.0
    """Navier–Stokes only: spin-up time before the input snapshot, x = w(t0), y = w(t0 + t_final)."""
    time_steps: int | None = None
    """Navier–Stokes only: K snapshots up to t_final as the target instead of one."""
    device: str = "cpu"
    """Navier–Stokes only: torch device of the solver (results are the same up to round-off)."""
    resolutions: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        tests = tuple(self.test_resolutions) or (self.resolution,)
        object.__setattr__(self, "test_resolutions", tests)
        object.__setattr__(self, "resolutions", tuple(sorted({self.resolution, *tests})))
        validate(self)

    @classmethod
    def from_spec(cls, data: DataSpecLike) -> DataRequest:
        return cls(
            problem=data.problem,
            root=str(data.root),
            name=data.name,
            resolution=data.resolution,
            test_resolutions=tuple(data.test_resolutions),
            n_train=data.n_train,
            n_test=data.n_test,
            seed=data.seed,
            viscosity=getattr(data, "viscosity", 1e-3),
            t_final=getattr(data, "t_final", 1.0),
            dt=getattr(data, "dt", 1e-3),
            t0=getattr(data, "t0", 0.0),
            time_steps=getattr(data, "time_steps", None),
            device=getattr(data, "device", "cpu"),
        )

    def files(self) -> DatasetFiles:
        return DatasetFiles(
            train=split_path(self.root, self.name, "train", self.resolution),
            tests={r: split_path(self.root, self.name, "test", r) for r in self.test_resolutions},
        )


def as_request(data: DataSpecLike) -> DataRequest:
    """A DataRequest as it is, anything else with the spec's data fields validated into one."""
    return data if isinstance(data, DataRequest) else DataRequest.from_spec(data)


def validate(request: DataRequest) -> None:
    """Reject what no generator can honour, naming the field and the bad value."""
    if request.problem not in PROBLEMS:
        choices = ", ".join(PROBLEMS)
        raise DataFieldError(f"data.problem must be one of {choices}, but got {request.problem!r}", "problem")
    if not _NAME.match(request.name):
        raise DataFieldError(
            f"data.name must be a plain file prefix (letters, digits, ._-), not {request.name!r}", "name"
        )
    for key in ("n_train", "n_test"):
        if getattr(request, key) < 1:
            raise DataFieldError(f"data.{key} must be at least 1, but got {getattr(request, key)}", key)
    even = request.problem == "navier-stokes"  # FFT grid with a Nyquist mode
    for res in request.resolutions:
        if res < 4 or (even and res % 2):
            need = "even and at least 4" if even else "at least 4"
            key = "resolution" if res == request.resolution else "test_resolutions"
            raise DataFieldError(f"data resolution must be {need}, but got {res}", key)
    if request.problem == "navier-stokes":
        check_arguments(request.viscosity, request.t_final, request.dt, request.time_steps)
        check_spin_up(request.t0, request.dt)
        _check_device(request.device)


def check_arguments(viscosity: float, t_final: float, dt: float, time_steps: int | None) -> tuple[int, int]:
    """Validate Navier–Stokes time stepping; returns (steps, steps between records)."""
    if not all(math.isfinite(v) and v > 0 for v in (viscosity, t_final, dt)):
        raise DataFieldError(
            "Navier–Stokes: viscosity, t_final and dt must be positive, but got "
            f"viscosity={viscosity:g}, t_final={t_final:g}, dt={dt:g}",
            "dt",
        )
    steps = round(t_final / dt)
    if steps < 1 or abs(steps * dt - t_final) > 1e-9 * max(t_final, 1.0):
        raise DataFieldError(f"Navier–Stokes: t_final={t_final:g} must be a multiple of dt={dt:g}", "dt")
    k = 1 if time_steps is None else time_steps
    if k < 1 or steps % k:
        raise DataFieldError(
            f"Navier–Stokes: time_steps={time_steps} must be at least 1 and divide the {steps} steps of t_final/dt",
            "time_steps",
        )
    return steps, steps // k


def check_spin_up(t0: float, dt: float) -> int:
    """Validate the Navier–Stokes spin-up time t0 (>= 0, a multiple of dt); returns its steps."""
    if not (math.isfinite(t0) and t0 >= 0):
        raise DataFieldError(f"Navier–Stokes: t0 must be >= 0, but got t0={t0:g}", "t0")
    steps = round(t0 / dt)
    if abs(steps * dt - t0) > 1e-9 * max(t0, 1.0):
        raise DataFieldError(f"Navier–Stokes: t0={t0:g} must be a multiple of dt={dt:g}", "t0")
    return steps


def _check_device(device: str) -> None:
    if device == "cpu":
        return  # no torch import: `fnosweep data --help` and spec validation stay light
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError) as e:
        raise DataError(f"data device must be a torch device such as cpu or cuda, but got {device!r}") from e
    if kind == "cuda" and not torch.cuda.is_available():
        raise DataError(f"data device {device!r} was asked for, but torch sees no CUDA device")
