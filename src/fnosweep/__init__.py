"""fnosweep: hyperparameter sweeps for Fourier Neural Operators, with stability diagnoses.

The public API is loaded lazily, so `import fnosweep` (and `fnosweep --help`) stays
light: torch is imported only when the monitor is used.

- `fnosweep.StabilityMonitor`: stability metrics inside any training loop.
- `fnosweep.diagnose.diagnose(history)`: the written diagnosis of any run.
- `fnosweep.read_history(path)`: a history file (JSON Lines) as values.
- `fnosweep.load(study)`: a study's trials and epochs as pandas DataFrames.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["StabilityMonitor", "load", "read_history", "load_spec"]

_LAZY = {
    "StabilityMonitor": ("fnosweep.monitor", "StabilityMonitor"),
    "read_history": ("fnosweep.history", "read_history"),
    "load_spec": ("fnosweep.space", "load_spec"),
    "load": ("fnosweep.view.frames", "load"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'fnosweep' has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    return getattr(importlib.import_module(module), attr)
