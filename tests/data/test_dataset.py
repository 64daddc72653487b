"""ensure_dataset: generate on first use, reuse what matches, regenerate what does not,
check a user's own files, and generate once when two callers race."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from fnosweep.data import DataRequest, ensure_dataset, load_dataset, load_split, prepare, read_sidecar
from fnosweep.data import dataset as dataset_module
from fnosweep.data import generation as generation_module
from fnosweep.errors import DataError

Spec = Callable[..., Any]


@pytest.fixture
def generations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, ...]]]:
    """Records every (split, resolutions) that is generated."""
    calls: list[tuple[str, tuple[int, ...]]] = []
    real = generation_module.generate

    def counting(request, split, resolutions, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((split, tuple(resolutions)))
        return real(request, split, resolutions, **kwargs)

    monkeypatch.setattr(generation_module, "generate", counting)
    return calls


def test_first_use_generates_every_split_in_neuralop_layout(tmp_path: Path, data_spec: Spec) -> None:
    progress: list[tuple[int, int]] = []
    files = ensure_dataset(data_spec(), progress=lambda d, t: progress.append((d, t)))
    assert files.train == tmp_path / "darcy_train_8.pt"
    assert dict(files.tests) == {8: tmp_path / "darcy_test_8.pt", 16: tmp_path / "darcy_test_16.pt"}
    x, y = load_split(files.train)
    assert x.shape == y.shape == (6, 1, 8, 8)
    xt, _ = load_split(files.tests[16])
    assert xt.shape == (3, 1, 16, 16)
    assert progress[-1] == (9, 9)
    record = read_sidecar(files.train)
    assert record is not None and record["params"]["split"] == "train"


def test_train_and_test_are_disjoint_draws(tmp_path: Path, data_spec: Spec) -> None:
    files = ensure_dataset(data_spec(test_resolutions=(8,)))
    x_train, _ = load_split(files.train)
    x_test, _ = load_split(files.tests[8])
    for sample in x_test:
        assert not any(torch.equal(sample, other) for other in x_train)


def test_matching_files_are_reused(tmp_path: Path, data_spec: Spec, generations: list) -> None:
    ensure_dataset(data_spec())
    first = generations.copy()
    ensure_dataset(data_spec(normalize_output=False))  # not a generation parameter
    assert generations == first == [("train", (8,)), ("test", (8, 16))]


@pytest.mark.parametrize(
    ("change", "regenerated"),
    [
        ({"n_test": 4}, [("test", (8, 16))]),
        ({"seed": 1}, [("train", (8,)), ("test", (8, 16))]),
        ({"test_resolutions": (8, 16, 32)}, [("test", (32,))]),
    ],
)
def test_a_sidecar_mismatch_regenerates(
    tmp_path: Path, data_spec: Spec, generations: list, change: dict, regenerated: list
) -> None:
    ensure_dataset(data_spec())
    generations.clear()
    files = ensure_dataset(data_spec(**change))
    assert generations == regenerated
    for path in [files.train, *files.tests.values()]:
        assert load_split(path)[0].shape[0] == (change.get("n_test", 3) if "test" in path.name else 6)


def test_a_file_without_its_sidecar_is_regenerated(tmp_path: Path, data_spec: Spec, generations: list) -> None:
    files = ensure_dataset(data_spec())
    files.train.with_suffix(".json").unlink()
    generations.clear()
    ensure_dataset(data_spec())
    assert generations == [("train", (8,))]


def test_prepare_without_overwrite_refuses_other_parameters(tmp_path: Path, data_spec: Spec) -> None:
    ensure_dataset(data_spec())
    before = (tmp_path / "darcy_train_8.pt").read_bytes()
    request = DataRequest.from_spec(data_spec(seed=5))
    with pytest.raises(DataError, match="exists with other generation parameters; pass --overwrite"):
        prepare(request, overwrite=False)
    assert (tmp_path / "darcy_train_8.pt").read_bytes() == before


def test_two_callers_at_once_generate_once(tmp_path: Path, data_spec: Spec, generations: list) -> None:
    errors: list[BaseException] = []

    def call() -> None:
        try:
            ensure_dataset(data_spec())
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert generations == [("train", (8,)), ("test", (8, 16))]  # the second found them valid


def test_two_requests_in_one_root_each_load_their_own_data(
    tmp_path: Path, data_spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searched data.seed / n_train: same file names, other contents. Each caller loads
    under the lock, so the other cannot regenerate the files between its check and load."""
    requests = [data_spec(seed=0), data_spec(seed=1, n_train=4)]
    alone = [load_dataset(dataclasses.replace(r, root=str(tmp_path / f"alone{i}"))) for i, r in enumerate(requests)]
    real_load = dataset_module.load_split

    def slow_load(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
        time.sleep(0.05)  # widens the window in which the other request could regenerate
        return real_load(path)

    monkeypatch.setattr(dataset_module, "load_split", slow_load)
    for _ in range(3):
        got: dict[int, Any] = {}

        def call(i: int, got: dict[int, Any] = got) -> None:
            got[i] = load_dataset(requests[i])

        threads = [threading.Thread(target=call, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in (0, 1):
            assert torch.equal(got[i].train[0], alone[i].train[0]) and torch.equal(got[i].train[1], alone[i].train[1])
            assert all(torch.equal(got[i].tests[r][0], alone[i].tests[r][0]) for r in (8, 16))
    assert len(alone[0].train[0]) == 6 and len(alone[1].train[0]) == 4


def test_navier_stokes_dataset_round_trip(tmp_path: Path, data_spec: Spec) -> None:
    files = ensure_dataset(data_spec(problem="navier-stokes", name="ns", resolution=16, test_resolutions=(16, 32)))
    x, y = load_split(files.tests[32])
    assert x.shape == y.shape == (3, 1, 32, 32)
    record = read_sidecar(files.tests[16])
    assert record is not None and record["params"]["simulated_resolution"] == 32


def test_navier_stokes_unstable_dt_writes_nothing(tmp_path: Path, data_spec: Spec) -> None:
    with pytest.raises(DataError, match="use dt ≤"):
        ensure_dataset(data_spec(problem="navier-stokes", resolution=64, t_final=10.0, dt=0.5))
    assert not list(tmp_path.glob("*.pt"))


# --- problem "files": the user's own data --------------------------------------------


def user_files(tmp_path: Path, data_spec: Spec, n: int = 6, res: int = 8, keys: tuple[str, ...] = ("x", "y")) -> Any:
    for split, count in (("train", n), ("test", 3)):
        payload = {k: torch.randn(count, res, res) for k in keys}
        torch.save(payload, tmp_path / f"mine_{split}_8.pt")
    return data_spec(problem="files", name="mine", test_resolutions=(8,))


def test_files_problem_accepts_valid_files(tmp_path: Path, data_spec: Spec, generations: list) -> None:
    files = ensure_dataset(user_files(tmp_path, data_spec))
    assert files.train == tmp_path / "mine_train_8.pt"
    assert generations == []


def test_files_problem_loads_the_users_tensors(tmp_path: Path, data_spec: Spec, generations: list) -> None:
    loaded = load_dataset(user_files(tmp_path, data_spec))
    x, y = loaded.train
    assert x.shape == (6, 1, 8, 8) and torch.equal(x[:, 0], torch.load(tmp_path / "mine_train_8.pt")["x"])
    assert loaded.tests[8][0].shape == (3, 1, 8, 8) and generations == []


@pytest.mark.parametrize(("kwargs", "message"), [({"res": 16}, "8×8 grid"), ({"n": 2}, "at least 6 samples")])
def test_loading_bad_files_is_refused_too(tmp_path: Path, data_spec: Spec, kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_dataset(user_files(tmp_path, data_spec, **kwargs))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keys": ("x",)}, "keys 'x' and 'y'"),
        ({"res": 16}, "expected fields on a 8×8 grid"),
        ({"n": 2}, "expected at least 6 samples"),
    ],
)
def test_files_problem_refuses_bad_files(tmp_path: Path, data_spec: Spec, kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        ensure_dataset(user_files(tmp_path, data_spec, **kwargs))


def test_files_problem_names_a_missing_file(tmp_path: Path, data_spec: Spec) -> None:
    with pytest.raises(DataError, match=r"mine_train_8\.pt does not exist"):
        ensure_dataset(data_spec(problem="files", name="mine"))


def test_the_real_data_spec_is_accepted(tmp_path: Path) -> None:
    data_spec_class = getattr(pytest.importorskip("fnosweep.spec"), "DataSpec", None)
    if data_spec_class is None:
        pytest.skip("fnosweep.spec has no DataSpec")
    data = data_spec_class(root=str(tmp_path), resolution=8, test_resolutions=(8,), n_train=2, n_test=1)
    files = ensure_dataset(data)
    assert load_split(files.train)[0].shape == (2, 1, 8, 8)
