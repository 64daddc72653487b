"""Shared fixtures of the data tests: a stand-in for the spec's DataSpec."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True, kw_only=True)
class FakeDataSpec:
    """The attributes `fnosweep.data.ensure_dataset` reads from the spec's data section."""

    problem: str = "darcy"
    root: str = "data"
    name: str = "darcy"
    resolution: int = 8
    test_resolutions: tuple[int, ...] = (8, 16)
    n_train: int = 6
    n_test: int = 3
    seed: int = 0
    viscosity: float = 1e-3
    t_final: float = 0.1
    dt: float = 0.01
    normalize_output: bool = True


@pytest.fixture
def data_spec(tmp_path: Path) -> Callable[..., FakeDataSpec]:
    """A factory of data specs rooted in tmp_path: `data_spec(seed=1, n_test=4)`."""

    def make(**changes: Any) -> FakeDataSpec:
        return dataclasses.replace(FakeDataSpec(root=str(tmp_path)), **changes)

    return make
