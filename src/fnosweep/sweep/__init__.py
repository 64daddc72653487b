"""The sweep: the only owner of the Optuna study.

`driver` runs the loop (ask → trial config → executor → one record per epoch → tell),
`slots` holds the trials out on the executor and what each of its events does to them,
`start` takes the study (lock, create or load, resume check, stale trials), `decide`
turns each epoch into continue / prune / stop, `end` does an ended trial's bookkeeping,
`result` holds the values a sweep hands back (progress, summaries), `resume` judges
whether a spec may resume a study. Submodules load lazily: `result` is light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_sweep", "Driver"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from fnosweep.sweep import driver

        return getattr(driver, name)
    raise AttributeError(f"module 'fnosweep.sweep' has no attribute {name!r}")
