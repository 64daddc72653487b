"""`fnosweep data darcy|navier-stokes`, run through Typer's CliRunner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fnosweep.cli.data import app
from fnosweep.errors import DataError

runner = CliRunner()


def darcy(out: Path, *extra: str) -> list[str]:
    return ["darcy", "--out", str(out), "--resolution", "8", "--n-train", "4", "--n-test", "2", *extra]


def test_darcy_writes_loadable_files(tmp_path: Path) -> None:
    from neuralop.data.datasets import PTDataset

    result = runner.invoke(app, darcy(tmp_path, "--test-resolutions", "8,16", "--name", "dd"))
    assert result.exit_code == 0, result.output
    assert f"train: {tmp_path / 'dd_train_8.pt'}" in result.output
    assert f"test 16: {tmp_path / 'dd_test_16.pt'}" in result.output
    data = PTDataset(tmp_path, "dd", 4, [2, 2], 2, [2, 2], train_resolution=8, test_resolutions=[8, 16])
    assert data.test_dbs[16][0]["x"].shape == (1, 16, 16)


def test_navier_stokes_writes_loadable_files(tmp_path: Path) -> None:
    from neuralop.data.datasets import PTDataset

    args = ["navier-stokes", "--out", str(tmp_path), "--resolution", "16", "--n-train", "3", "--n-test", "2"]
    result = runner.invoke(app, [*args, "--t-final", "0.1", "--dt", "0.01", "--viscosity", "1e-4"])
    assert result.exit_code == 0, result.output
    data = PTDataset(tmp_path, "nsforcing", 3, [2], 2, [2], train_resolution=16, test_resolutions=[16])
    assert data.train_db[2]["y"].shape == (1, 16, 16)


def test_time_series_files_load_with_explicit_channels(tmp_path: Path) -> None:
    from neuralop.data.datasets import PTDataset

    args = ["navier-stokes", "--out", str(tmp_path), "--resolution", "16", "--n-train", "2", "--n-test", "1"]
    result = runner.invoke(app, [*args, "--t-final", "0.1", "--dt", "0.01", "--time-steps", "5"])
    assert result.exit_code == 0, result.output
    data = PTDataset(tmp_path, "nsforcing", 2, [1], 1, [1], 16, [16], channels_squeezed=False)
    assert data.train_db[0]["x"].shape == (1, 16, 16)
    assert data.train_db[0]["y"].shape == (5, 16, 16)


def test_rerun_with_the_same_parameters_is_a_no_op(tmp_path: Path) -> None:
    assert runner.invoke(app, darcy(tmp_path)).exit_code == 0
    stamp = (tmp_path / "darcy_train_8.pt").stat().st_mtime_ns
    assert runner.invoke(app, darcy(tmp_path)).exit_code == 0
    assert (tmp_path / "darcy_train_8.pt").stat().st_mtime_ns == stamp


def test_other_parameters_need_overwrite(tmp_path: Path) -> None:
    assert runner.invoke(app, darcy(tmp_path)).exit_code == 0
    refused = runner.invoke(app, darcy(tmp_path, "--seed", "3"))
    assert isinstance(refused.exception, DataError)
    assert "pass --overwrite" in str(refused.exception)
    assert runner.invoke(app, darcy(tmp_path, "--seed", "3", "--overwrite")).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n-train", "0"], "n_train must be at least 1, but got 0"),
        (["--resolution", "3"], "resolution must be at least 4, but got 3"),
        (["--test-resolutions", "8,x"], "--test-resolutions must be comma-separated integers"),
        (["--name", "../escape"], "data.name must be a plain file prefix"),
    ],
)
def test_bad_darcy_input_is_one_data_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [*darcy(tmp_path / "out"), *args])
    assert isinstance(result.exception, DataError)
    assert message in str(result.exception)
    assert "\n" not in str(result.exception)
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resolution", "15"], "must be even and at least 4, but got 15"),
        (["--dt", "0.5"], "use dt ≤"),
        (["--dt", "0.03"], "must be a multiple of dt"),
        (["--viscosity", "-1"], "must be positive"),
        (["--device", "tpu:7"], "data device"),
    ],
)
def test_bad_navier_stokes_input_is_one_data_error(tmp_path: Path, args: list[str], message: str) -> None:
    base = ["navier-stokes", "--out", str(tmp_path / "out"), "--resolution", "64", "--n-train", "1"]
    result = runner.invoke(app, [*base, "--n-test", "1", "--t-final", "10", *args])
    assert isinstance(result.exception, DataError), result.output
    assert message in str(result.exception)
    assert not (tmp_path / "out").exists()  # nothing written


def test_out_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("not a directory")
    result = runner.invoke(app, darcy(target))
    assert isinstance(result.exception, DataError)
    assert "is a file, but a directory was expected" in str(result.exception)


def test_out_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = runner.invoke(app, darcy(tmp_path / "file" / "sub"))
    assert isinstance(result.exception, DataError)
    assert "cannot create data directory" in str(result.exception)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_out_is_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = runner.invoke(app, darcy(locked))
    assert isinstance(result.exception, DataError)
    assert "not writable" in str(result.exception)


def test_importing_the_cli_does_not_import_torch() -> None:
    code = "import sys, fnosweep.cli.data; sys.exit('torch' in sys.modules or 'scipy' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
