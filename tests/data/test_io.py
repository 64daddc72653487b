"""The .pt format: what neuralop's PTDataset reads, safe loads, atomic writes."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from fnosweep.data.io import load_split, read_sidecar, sidecar_path, split_path, write_split
from fnosweep.errors import DataError


def write_pair(root: Path, name: str, res: int, n: int, split: str = "train") -> Path:
    path = split_path(root, name, split, res)
    write_split(path, torch.randn(n, res, res), torch.randn(n, res, res), {"n": n})
    return path


def test_files_load_with_neuralops_ptdataset(tmp_path: Path) -> None:
    from neuralop.data.datasets import PTDataset

    write_pair(tmp_path, "toy", 8, 5)
    write_pair(tmp_path, "toy", 8, 3, "test")
    write_pair(tmp_path, "toy", 16, 3, "test")
    data = PTDataset(
        root_dir=tmp_path,
        dataset_name="toy",
        n_train=5,
        n_tests=[3, 3],
        batch_size=2,
        test_batch_sizes=[2, 2],
        train_resolution=8,
        test_resolutions=[8, 16],
    )
    assert data.train_db[0]["x"].shape == (1, 8, 8)
    assert data.train_db[0]["y"].dtype == torch.float32
    assert data.test_dbs[16][2]["y"].shape == (1, 16, 16)


def test_load_split_returns_channel_first_float32(tmp_path: Path) -> None:
    path = tmp_path / "a.pt"
    torch.save({"x": torch.randn(4, 8, 8, dtype=torch.float64), "y": torch.randn(4, 8, 8)}, path)
    x, y = load_split(path)
    assert x.shape == y.shape == (4, 1, 8, 8)
    assert x.dtype == y.dtype == torch.float32


def test_load_split_keeps_explicit_channels(tmp_path: Path) -> None:
    path = tmp_path / "series.pt"
    torch.save({"x": torch.randn(2, 1, 8, 8), "y": torch.randn(2, 5, 8, 8)}, path)
    x, y = load_split(path)
    assert x.shape == (2, 1, 8, 8) and y.shape == (2, 5, 8, 8)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"x": torch.zeros(2, 4, 4)}, "keys 'x' and 'y'"),
        ([torch.zeros(2, 4, 4)], "keys 'x' and 'y'"),
        ({"x": torch.zeros(2, 4, 4), "y": torch.zeros(3, 4, 4)}, "same number of samples"),
        ({"x": torch.zeros(2, 4, 4), "y": torch.zeros(2, 8, 8)}, "same grid"),
        ({"x": torch.zeros(2, 4), "y": torch.zeros(2, 4)}, "must be a real tensor"),
        ({"x": torch.zeros(2, 4, 4), "y": "text"}, "must be a real tensor"),
    ],
)
def test_load_split_refuses_malformed_payloads(tmp_path: Path, payload: object, message: str) -> None:
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    with pytest.raises(DataError, match=message):
        load_split(path)


class Boom:
    def __reduce__(self) -> tuple:
        return (print, ("this must never run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_load_split_never_runs_pickled_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"x": Boom(), "y": Boom()}, f)
    with pytest.raises(DataError, match="cannot load"):
        load_split(path)


def test_load_split_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_split(tmp_path / "missing.pt")


def test_sidecar_records_params_shapes_and_size(tmp_path: Path) -> None:
    path = write_pair(tmp_path, "toy", 8, 2)
    record = read_sidecar(path)
    assert record is not None and record["params"] == {"n": 2}
    assert record["x_shape"] == [2, 8, 8] and record["bytes"] == path.stat().st_size
    path.write_bytes(path.read_bytes() + b"changed")  # a file changed behind our back
    assert read_sidecar(path) is None


def test_a_failure_mid_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_pair(tmp_path, "toy", 8, 2)  # an older, complete version exists
    old = path.read_bytes()

    def crash(obj: object, target: object) -> None:
        Path(str(target)).write_bytes(b"half a fi")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(DataError, match="No space left"):
        write_split(path, torch.zeros(3, 8, 8), torch.zeros(3, 8, 8), {"n": 3})
    assert path.read_bytes() == old  # the old file is untouched...
    assert not sidecar_path(path).exists()  # ...but no longer vouched for
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left
    new = tmp_path / "new.pt"
    with pytest.raises(DataError):
        write_split(new, torch.zeros(3, 8, 8), torch.zeros(3, 8, 8), {"n": 3})
    assert not new.exists() and not sidecar_path(new).exists()


def test_write_refuses_unequal_sample_counts(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="samples"):
        write_split(tmp_path / "a.pt", torch.zeros(2, 4, 4), torch.zeros(3, 4, 4), {})
    assert json.dumps(sorted(p.name for p in tmp_path.iterdir())) == "[]"
