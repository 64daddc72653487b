"""Make sure the files a data spec names exist and match it: generate, check, or refuse.

`ensure_dataset` is what a trial calls (regenerates whatever does not match); the CLI
calls `prepare` with `overwrite=False` so that it refuses to replace files made
with other parameters. Both run under a per-dataset file lock, so two Ray workers
starting together generate once: the second waits, then finds the files valid.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fnosweep.data import generation
from fnosweep.data.io import load_split, read_sidecar, split_path, write_split
from fnosweep.errors import DataError

PROBLEMS = ("darcy", "navier-stokes", "files")
Progress = Callable[[int, int], None]


class DataSpecLike(Protocol):
    """The attributes of the spec's `data` section that this module reads."""

    problem: str
    root: str
    name: str
    resolution: int
    test_resolutions: tuple[int, ...]
    n_train: int
    n_test: int
    seed: int
    viscosity: float
    t_final: float
    dt: float


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
    time_steps: int | None = None
    """Navier–Stokes only: K snapshots up to t_final as the target instead of one."""
    device: str = "cpu"
    """Navier–Stokes only: torch device of the solver (results are the same up to round-off)."""
    resolutions: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        tests = tuple(self.test_resolutions) or (self.resolution,)
        object.__setattr__(self, "test_resolutions", tests)
        object.__setattr__(self, "resolutions", tuple(sorted({self.resolution, *tests})))
        generation.validate(self)

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
            time_steps=getattr(data, "time_steps", None),
            device=getattr(data, "device", "cpu"),
        )

    def files(self) -> DatasetFiles:
        return DatasetFiles(
            train=split_path(self.root, self.name, "train", self.resolution),
            tests={r: split_path(self.root, self.name, "test", r) for r in self.test_resolutions},
        )


def ensure_dataset(data: DataSpecLike, *, progress: Progress | None = None) -> DatasetFiles:
    """Generate the spec's dataset on first use, reuse it when its sidecars match the
    spec, regenerate what does not match; for problem "files", check the user's files."""
    request = data if isinstance(data, DataRequest) else DataRequest.from_spec(data)
    return prepare(request, overwrite=True, progress=progress)


def prepare(request: DataRequest, *, overwrite: bool, progress: Progress | None = None) -> DatasetFiles:
    """Bring `request.root` up to date. With overwrite=False, files made with other
    parameters are refused (DataError) instead of replaced. Returns the file paths."""
    files = request.files()
    if request.problem == "files":
        check_user_files(request, files)
        return files
    generation.precheck(request)  # e.g. an unstable dt: refuse before anything is written
    root = _writable_dir(Path(request.root))
    with _lock(root / f".{request.name}.lock"):
        plan = _stale(request, files)
        if not plan:
            return files
        existing = [p for split in plan.values() for p in split.values() if p.exists()]
        if existing and not overwrite:
            raise DataError(f"{existing[0]} exists with other generation parameters; pass --overwrite to replace it")
        total = sum(request.n_train if s == "train" else request.n_test for s in plan)
        offset = 0
        for split, paths in plan.items():
            n = request.n_train if split == "train" else request.n_test

            def report(done: int, _n: int, offset: int = offset) -> None:
                if progress is not None:
                    progress(offset + done, total)

            data = generation.generate(request, split, sorted(paths), progress=report)
            for res, path in paths.items():
                x, y = data[res]
                write_split(path, x, y, generation.params(request, split, res))
            offset += n
    return files


def _stale(request: DataRequest, files: DatasetFiles) -> dict[str, dict[int, Path]]:
    """{split: {resolution: path}} of the files that are missing or do not match."""
    plan: dict[str, dict[int, Path]] = {}
    wanted = [("train", request.resolution, files.train)]
    wanted += [("test", r, p) for r, p in files.tests.items()]
    for split, res, path in wanted:
        record = read_sidecar(path)
        expected = json.loads(json.dumps(generation.params(request, split, res)))
        if record is None or record.get("params") != expected:
            plan.setdefault(split, {})[res] = path
    return plan


def check_user_files(request: DataRequest, files: DatasetFiles) -> None:
    """Problem "files": each split exists, loads safely, has x and y on the expected
    grid and at least as many samples as the spec asks for."""
    wanted = [(files.train, request.resolution, request.n_train)]
    wanted += [(p, r, request.n_test) for r, p in files.tests.items()]
    for path, res, n in wanted:
        x, y = load_split(path)
        if tuple(x.shape[-2:]) != (res, res) or tuple(y.shape[-2:]) != (res, res):
            raise DataError(
                f"{path}: expected fields on a {res}×{res} grid, but got x {tuple(x.shape)} and y {tuple(y.shape)}"
            )
        if x.shape[0] < n:
            raise DataError(f"{path}: expected at least {n} samples, but the file has {x.shape[0]}")


def _writable_dir(root: Path) -> Path:
    if root.exists() and not root.is_dir():
        raise DataError(f"data root {root} is a file, but a directory was expected")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create data directory {root}: {e.strerror or e}") from e
    if not os.access(root, os.W_OK | os.X_OK):
        raise DataError(f"data directory {root} is not writable")
    return root


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) for the duration of the block; a no-op where
    fcntl does not exist (the atomic renames still keep every file whole)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # blocks while another process generates
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
