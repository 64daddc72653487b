"""PDE data for FNO training, generated offline in neuralop's `.pt` format.

Darcy flow and forced 2-D Navier–Stokes (the FNO paper's problems), written as
`{name}_{split}_{res}.pt` dicts of `x` and `y` that `neuralop.data.datasets.PTDataset`
reads, with a JSON sidecar of the generation parameters. See docs/data.md.

The names below are loaded on first use, so that importing `fnosweep.data` (and
`fnosweep --help`) does not import torch or scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fnosweep.data.darcy import generate_darcy, solve_darcy
    from fnosweep.data.dataset import LoadedDataset, check_data, ensure_dataset, load_dataset, prepare
    from fnosweep.data.io import load_split, read_sidecar, split_path, write_split
    from fnosweep.data.navier_stokes import generate_navier_stokes
    from fnosweep.data.request import DataRequest, DatasetFiles, DataSpecLike
    from fnosweep.data.spectral import simulate

_EXPORTS = {
    "DataRequest": "request",
    "DatasetFiles": "request",
    "DataSpecLike": "request",
    "LoadedDataset": "dataset",
    "check_data": "dataset",
    "ensure_dataset": "dataset",
    "load_dataset": "dataset",
    "prepare": "dataset",
    "generate_darcy": "darcy",
    "solve_darcy": "darcy",
    "generate_navier_stokes": "navier_stokes",
    "simulate": "spectral",
    "load_split": "io",
    "read_sidecar": "io",
    "split_path": "io",
    "write_split": "io",
}

__all__ = [
    "DataRequest",
    "DataSpecLike",
    "DatasetFiles",
    "LoadedDataset",
    "check_data",
    "ensure_dataset",
    "generate_darcy",
    "generate_navier_stokes",
    "load_dataset",
    "load_split",
    "prepare",
    "read_sidecar",
    "simulate",
    "solve_darcy",
    "split_path",
    "write_split",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fnosweep.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fnosweep.data.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value
