"""Navier–Stokes spin-up `t0`: x = w(t0), y = w(t0 + T), through the generator, the
sidecar, the `fnosweep data` command and the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from fnosweep.cli.data import app
from fnosweep.data import read_sidecar
from fnosweep.data.navier_stokes import generate_navier_stokes
from fnosweep.errors import SpecError
from fnosweep.spec import parse_spec

SMALL = {"n": 2, "resolution": 8, "seed": 3, "viscosity": 1e-3, "dt": 0.01, "workers": 1}


def test_the_input_is_the_flow_at_t0_and_the_target_t_final_later() -> None:
    from_zero = generate_navier_stokes(t_final=0.05, **SMALL)[8]
    spun_up = generate_navier_stokes(t_final=0.05, t0=0.05, **SMALL)[8]
    assert torch.equal(spun_up[0], from_zero[1])  # x = w(t0): the t0 = 0 run's target
    assert not torch.equal(spun_up[1], spun_up[0])
    plain = generate_navier_stokes(t_final=0.05, t0=0.0, **SMALL)[8]
    assert torch.equal(plain[0], from_zero[0]) and torch.equal(plain[1], from_zero[1])  # default kept


def test_the_command_takes_t0_and_the_sidecar_records_it(tmp_path: Path) -> None:
    base = ["navier-stokes", "--resolution", "8", "--n-train", "2", "--n-test", "1"]
    base += ["--t-final", "0.05", "--dt", "0.01"]
    spun = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "a"), "--t0", "0.02"])
    assert spun.exit_code == 0, spun.output
    record = read_sidecar(tmp_path / "a" / "nsforcing_train_8.pt")
    assert record is not None and record["params"]["t0"] == 0.02
    plain = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "b")])
    assert plain.exit_code == 0, plain.output
    record = read_sidecar(tmp_path / "b" / "nsforcing_train_8.pt")
    assert record is not None and "t0" not in record["params"]  # sidecars from before t0 stay valid
    bad = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "c"), "--t0", "0.015"])
    assert "t0=0.015 must be a multiple of dt=0.01" in str(bad.exception)
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").glob("*.pt"))


def _doc(**data: object) -> dict:
    return {
        "study": {"name": "t", "n_trials": 2},
        "search": {"training.lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True}},
        "data": {"problem": "navier-stokes", "resolution": 8, "t_final": 0.1, "dt": 0.01, **data},
    }


def test_the_spec_takes_t0_and_writes_it_only_when_set() -> None:
    spec = parse_spec(_doc(t0=0.5))
    assert spec.data.t0 == 0.5 and spec.to_dict()["data"]["t0"] == 0.5
    assert parse_spec(spec.to_dict()) == spec
    assert "t0" not in parse_spec(_doc()).to_dict()["data"]  # studies stored before t0 resume


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"t0": 0.015}, "<spec>: data -> t0: Navier–Stokes: t0=0.015 must be a multiple of dt=0.01"),
        ({"t0": -1}, "<spec>: data -> t0: must be >= 0, but got -1.0"),
        ({"problem": "darcy", "t0": 1}, "<spec>: data -> t0: is used only by problem navier-stokes"),
    ],
)
def test_the_spec_refuses_a_bad_t0(data: dict, message: str) -> None:
    doc = _doc(**data)
    if doc["data"]["problem"] == "darcy":
        doc["data"] = {"problem": "darcy", "t0": 1}
    with pytest.raises(SpecError) as info:
        parse_spec(doc)
    assert str(info.value).startswith(message), info.value
