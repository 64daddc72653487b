"""May a study be resumed with this spec? Pure functions over spec dictionaries.

Optuna itself accepts any change silently (a widened range, a different epoch
budget), and then TPE learns from trials that no longer mean the same thing. A
resumed study must keep what a trial *is*: the search space, the data, the model,
the training recipe and the objective. What only says how the sweep runs (trial
budget, execution, stability thresholds, sampler, pruner) may change, and is said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFINING = ("data", "model", "training", "study.metric", "study.direction")
"""Spec parts that define a trial: a change would mix incomparable trials in one study."""
IGNORED = ("study.storage",)
"""Where the study lives may be written differently (an env var, a relative path)."""
GENERATED_ROOT = "data.root"
"""Where generated data is kept: the same parameters generate the same data anywhere, so a
new root is a safe change (a study whose root could not be written resumes elsewhere).
For problem `files` the root names the user's files: it defines the trials."""


def space_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed between two canonical search spaces (`space.space_summary`)."""
    old_p, new_p = old.get("params", old), new.get("params", new)
    parts = [f"added {k}" for k in new_p if k not in old_p]
    parts += [f"removed {k}" for k in old_p if k not in new_p]
    parts += [f"{k}: {_short(old_p[k])} -> {_short(new_p[k])}" for k in new_p if k in old_p and old_p[k] != new_p[k]]
    return parts


def spec_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(defining, safe) changes between the spec a study ran with and a new one, as
    `key: old -> new` lines. The search section is judged by `space_diff` instead."""
    defining: list[str] = []
    safe: list[str] = []
    old_flat, new_flat = _flatten({k: v for k, v in old.items() if k != "search"}), _flatten(
        {k: v for k, v in new.items() if k != "search"}
    )
    for key in sorted(old_flat.keys() | new_flat.keys()):
        if key.startswith(IGNORED) or old_flat.get(key) == new_flat.get(key):
            continue
        line = f"{key}: {_short(old_flat.get(key))} -> {_short(new_flat.get(key))}"
        problems = (old_flat.get("data.problem"), new_flat.get("data.problem"))
        generated = key == GENERATED_ROOT and "files" not in problems
        (defining if key.startswith(DEFINING) and not generated else safe).append(line)
    return defining, safe


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def _short(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
