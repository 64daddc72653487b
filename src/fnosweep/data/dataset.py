"""Make sure the files a data spec names exist and match it: generate, check, or refuse.

`load_dataset` is what a trial calls (regenerates whatever does not match, then loads
the tensors); the CLI calls `prepare` with `overwrite=False` so that it refuses to
replace files made with other parameters. Both run under a per-dataset file lock, so
two Ray workers starting together generate once: the second waits, then finds the
files valid. A trial loads its tensors before it lets the lock go: file names depend
only on name and resolution, so a trial with another searched data.seed could
otherwise regenerate the files between this one's check and its load.

`check_data` is every check that needs no write (fields, the CFL estimate, a user's
files); `prepare` runs it first, and the spec parser runs it too (without the user's
files, which the driver checks where the sweep runs), so that `fnosweep validate` and
`fnosweep run` refuse bad data before a study database is written.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from fnosweep.data import generation
from fnosweep.data.io import load_split, read_sidecar, write_split
from fnosweep.data.request import PROBLEMS, DataFieldError, DataRequest, DatasetFiles, DataSpecLike, as_request
from fnosweep.errors import DataError

if TYPE_CHECKING:
    import torch

__all__ = [
    "PROBLEMS",
    "DataRequest",
    "DataSpecLike",
    "DatasetFiles",
    "LoadedDataset",
    "check_data",
    "check_user_files",
    "ensure_dataset",
    "load_dataset",
    "prepare",
]

_T = TypeVar("_T")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset's tensors, (x, y) channel-first as `load_split` returns them."""

    train: tuple[torch.Tensor, torch.Tensor]
    tests: Mapping[int, tuple[torch.Tensor, torch.Tensor]]


def ensure_dataset(data: DataSpecLike, *, progress: Progress | None = None) -> DatasetFiles:
    """Generate the spec's dataset on first use, reuse it when its sidecars match the
    spec, regenerate what does not match; for problem "files", check the user's files."""
    return prepare(as_request(data), overwrite=True, progress=progress)


def load_dataset(data: DataSpecLike, *, progress: Progress | None = None) -> LoadedDataset:
    """`ensure_dataset`, then load every split while still holding the dataset's lock,
    so that no other request for the same file names can replace them in between."""
    request = as_request(data)
    if request.problem == "files":
        return check_user_files(request, request.files())  # checked as loaded: each file read once

    def load(files: DatasetFiles) -> LoadedDataset:
        return LoadedDataset(train=load_split(files.train), tests={r: load_split(p) for r, p in files.tests.items()})

    return _prepared(request, overwrite=True, progress=progress, then=load)


def check_data(data: DataSpecLike, *, files: bool = True) -> None:
    """Every check of a data spec that writes nothing: the fields, for navier-stokes the
    CFL estimate, for "files" the user's files (unless `files` is False: the spec parser
    leaves them to the driver, since a spec submitted to a cluster names files that may be
    there only). Raises DataError; a `DataFieldError` names the field at fault."""
    request = as_request(data)
    if request.problem == "files":
        if files:
            check_user_files(request, request.files())
    else:
        generation.precheck(request)


def prepare(request: DataRequest, *, overwrite: bool, progress: Progress | None = None) -> DatasetFiles:
    """Bring `request.root` up to date. With overwrite=False, files made with other
    parameters are refused (DataError) instead of replaced. Returns the file paths."""
    return _prepared(request, overwrite=overwrite, progress=progress, then=lambda files: files)


def _prepared(
    request: DataRequest, *, overwrite: bool, progress: Progress | None, then: Callable[[DatasetFiles], _T]
) -> _T:
    """`prepare`, then `then(files)` before the lock is released."""
    files = request.files()
    check_data(request)  # e.g. an unstable dt: refuse before anything is written
    if request.problem == "files":
        return then(files)  # the user's files: nothing here writes them
    root = _writable_dir(Path(request.root))
    with _lock(root / f".{request.name}.lock"):
        _generate_stale(request, files, overwrite=overwrite, progress=progress)
        return then(files)


def _generate_stale(request: DataRequest, files: DatasetFiles, *, overwrite: bool, progress: Progress | None) -> None:
    plan = _stale(request, files)
    if not plan:
        return
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


def check_user_files(request: DataRequest, files: DatasetFiles) -> LoadedDataset:
    """Problem "files": each split exists, loads safely, has x and y on the expected
    grid and at least as many samples as the spec asks for. Returns the loaded splits."""
    wanted = [(files.train, request.resolution, request.n_train, "resolution", "n_train")]
    wanted += [(p, r, request.n_test, "test_resolutions", "n_test") for r, p in files.tests.items()]
    loaded = {}
    for path, res, n, res_key, n_key in wanted:
        try:
            x, y = load_split(path)
        except DataError as e:  # missing, unreadable, no x and y: the file under root is at fault
            raise DataFieldError(str(e), "root") from e
        if tuple(x.shape[-2:]) != (res, res) or tuple(y.shape[-2:]) != (res, res):
            raise DataFieldError(
                f"{path}: expected fields on a {res}×{res} grid, but got x {tuple(x.shape)} and y {tuple(y.shape)}",
                res_key,
            )
        if x.shape[0] < n:
            raise DataFieldError(f"{path}: expected at least {n} samples, but the file has {x.shape[0]}", n_key)
        loaded[path] = (x, y)
    return LoadedDataset(train=loaded[files.train], tests={r: loaded[p] for r, p in files.tests.items()})


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
