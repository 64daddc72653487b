"""neuralop's `.pt` format: files, sidecars, atomic writes, safe loads.

A split is `{name}_{split}_{res}.pt`, a dict {"x": Tensor, "y": Tensor} as
`neuralop.data.datasets.PTDataset` reads it with its default `channels_squeezed=True`:
x and y float32 (n, res, res); PTDataset inserts the channel dimension itself.
A time series target is stored channel-explicit instead, x (n, 1, res, res) and
y (n, K, res, res), for `PTDataset(..., channels_squeezed=False)`.

Beside each file, `{name}_{split}_{res}.json` records the generation parameters and
the file's size: the cache check compares it with what a spec asks for. Writes go
to a temporary file in the same directory and are renamed into place (atomic on
POSIX); the sidecar is removed first and written last, so a crash at any point
leaves either no sidecar (regenerate) or a sidecar that describes the file beside it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pickle
import secrets
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fnosweep.errors import DataError

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1


def split_path(root: str | os.PathLike[str], name: str, split: str, resolution: int) -> Path:
    """`{root}/{name}_{split}_{resolution}.pt`, the name neuralop's PTDataset looks for."""
    return Path(root) / f"{name}_{split}_{resolution}.pt"


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    return Path(path).with_suffix(".json")


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success."""
    # A fresh name beside the target (same file system, so the rename is atomic);
    # created by the writer, so it gets the usual umask permissions.
    _remove_orphans(path)
    tmp = path.parent / f".{path.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())  # the data must be on disk before the rename is
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


_HOST = socket.gethostname().replace(".", "_")


def _remove_orphans(path: Path) -> None:
    """Remove temporaries of `path` left by a killed writer: this host's, of a dead pid.

    (Another host's, on a shared file system, may be live: they are left alone.)"""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.{glob.escape(_HOST)}.*.tmp"):
        pid = tmp.name[len(f".{path.name}.{_HOST}.") :].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def write_split(path: str | os.PathLike[str], x: torch.Tensor, y: torch.Tensor, params: Mapping[str, Any]) -> None:
    """Write {"x": x, "y": y} to `path` and its JSON sidecar of `params`, atomically."""
    import torch

    path = Path(path)
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{path}: x has {x.shape[0]} samples but y has {y.shape[0]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sidecar_path(path).unlink(missing_ok=True)
        payload = {"x": x.detach().cpu().contiguous(), "y": y.detach().cpu().contiguous()}
        with _atomic_target(path) as tmp:
            torch.save(payload, tmp)
        record = {
            "format": FORMAT_VERSION,
            "params": dict(params),
            "x_shape": list(x.shape),
            "y_shape": list(y.shape),
            "bytes": path.stat().st_size,
        }
        with _atomic_target(sidecar_path(path)) as tmp, open(tmp, "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
    except OSError as e:
        raise DataError(f"cannot write {path}: {e.strerror or e}") from e


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The sidecar of a split, or None when it is missing, unreadable, or does not
    describe the file beside it (other size: the file changed after it was written)."""
    path = Path(path)
    try:
        record = json.loads(sidecar_path(path).read_text())
        if record.get("format") != FORMAT_VERSION or record.get("bytes") != path.stat().st_size:
            return None
        return record
    except (OSError, ValueError, AttributeError):
        return None


def load_split(path: str | os.PathLike[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a neuralop-format split safely (`weights_only=True`: no pickled code runs).

    Returns x, y as float32 channel-first tensors (n, C, H, W): squeezed files
    (n, res, res) get C = 1. Raises DataError for a missing or unreadable file, a
    payload without tensors `x` and `y`, or shapes that do not pair up.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist (expected a neuralop .pt file)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # torch's text advises weights_only=False: not for an untrusted file
        found = [line.strip() for line in str(e).splitlines() if "GLOBAL" in line or "global" in line]
        raise DataError(
            f"cannot load {path}: it holds pickled Python objects, not only tensors"
            f"{f' ({found[0]})' if found else ''}; fnosweep never loads those, as loading them can run "
            "code; expected a neuralop .pt file of tensors x and y"
        ) from e
    except Exception as e:  # torch raises RuntimeError, EOFError, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot load {path}: {first}") from e
    if not isinstance(payload, dict) or not {"x", "y"} <= payload.keys():
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise DataError(f"{path}: expected a dict with keys 'x' and 'y', but got {keys}")
    x, y = (_channel_first(path, key, payload[key]) for key in ("x", "y"))
    if x.shape[0] != y.shape[0] or x.shape[-2:] != y.shape[-2:]:
        raise DataError(
            f"{path}: x {tuple(x.shape)} and y {tuple(y.shape)} must have the same number of samples and the same grid"
        )
    return x, y


def _channel_first(path: Path, key: str, value: object) -> torch.Tensor:
    import torch

    if not isinstance(value, torch.Tensor) or value.is_complex() or value.ndim not in (3, 4):
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise DataError(f"{path}: '{key}' must be a real tensor (n, H, W) or (n, C, H, W), but got {shape}")
    if value.shape[0] < 1:
        raise DataError(f"{path}: '{key}' holds no samples: {tuple(value.shape)}")
    value = value.to(torch.float32)
    return value.unsqueeze(1) if value.ndim == 3 else value
