"""Tiny sweep specs for tests: 8x8 Darcy, 4 modes, 2 epochs (imported by test modules)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def tiny_doc(tmp_path: Path, name: str = "tiny", **dotted: Any) -> dict[str, Any]:
    """A spec document for a sweep of seconds: 8x8 Darcy, 4 modes, 2 epochs."""
    doc: dict[str, Any] = {
        "study": {
            "name": name,
            "storage": f"sqlite:///{tmp_path}/studies/{name}.db",
            "n_trials": 4,
            "sampler": {"type": "random", "seed": 0},
            "pruner": {"type": "none"},
        },
        "data": {
            "problem": "darcy",
            "root": str(tmp_path / "data"),
            "resolution": 8,
            "test_resolutions": [8],
            "n_train": 16,
            "n_test": 8,
        },
        "model": {"n_modes": [4, 4], "hidden_channels": 8, "n_layers": 2},
        "training": {"epochs": 2, "batch_size": 8, "lr": 1e-3},
        "search": {"training.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        "execution": {"backend": "inline", "max_concurrent": 2},
    }
    for key, value in dotted.items():
        *path, last = key.split("__")
        node = doc
        for part in path:
            node = node.setdefault(part, {})
        node[last] = copy.deepcopy(value)
    return doc


def tiny_spec(tmp_path: Path, name: str = "tiny", **dotted: Any):
    """`tiny_doc` parsed; keyword keys use `__` for nesting: training__epochs=3."""
    from fnosweep.spec import parse_spec

    return parse_spec(tiny_doc(tmp_path, name, **dotted), source="tiny.yaml")
