"""`study.enqueue`: trials to run first, with given parameter values, when a study is new.

    study:
      enqueue:
        - {training.lr: 1.0e-4, training.clip_threshold: 10.0, training.batch_size: 8}

Each entry names searched parameters only, with values their distributions can take
(a choice of a categorical, a number inside a range and on its step); a conditional
parameter only where its `when` holds on the entry's own values. Parameters an entry
leaves out are drawn by the sampler, as Optuna's `enqueue_trial` does. Parsed after the
search section, since every value is checked against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from fnosweep.spec._yaml import KeyPath, show_name
from fnosweep.spec.checks import SEARCHABLE_FIELDS
from fnosweep.spec.context import ParseContext
from fnosweep.spec.schema import SearchParam

PATH: KeyPath = ("study", "enqueue")


def parse_enqueue(ctx: ParseContext, raw: Any, search: tuple[SearchParam, ...], n_trials: int
                  ) -> tuple[Mapping[str, Any], ...]:
    """The list of trials to enqueue, each checked against the search space."""
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise ctx.fail(PATH, "must be a list of mappings of searched parameters to values, "
                       "e.g. [{training.lr: 1.0e-4}]", raw)
    if len(raw) > n_trials:
        raise ctx.fail(PATH, f"lists {len(raw)} trials, more than study.n_trials ({n_trials})")
    by_key = {p.key: p for p in search}
    return tuple(_parse_entry(ctx, entry, (*PATH, f"[{i}]"), by_key) for i, entry in enumerate(raw))


def _parse_entry(ctx: ParseContext, raw: Any, path: KeyPath, by_key: Mapping[str, SearchParam]
                 ) -> Mapping[str, Any]:
    entry = ctx.mapping(raw, path)
    if not entry:
        raise ctx.fail(path, "names no parameter; give at least one searched parameter and its value")
    values = {}
    for key, value in entry.items():
        param = by_key.get(key)
        if param is None:
            raise ctx.fail((*path, key), "is not a searched parameter (searched: "
                           f"{', '.join(map(show_name, by_key))})")
        values[key] = ctx.check(SEARCHABLE_FIELDS[key], value, (*path, key))
        values[key] = _in_distribution(ctx, param, values[key], (*path, key))
    for key in values:
        for parent, allowed in by_key[key].when.items():
            if values.get(parent, _MISSING) not in allowed:
                shown = ", ".join(map(repr, allowed))
                raise ctx.fail((*path, key), f"is used only when {parent} is one of {shown}; "
                               f"give {parent} one of those values in this entry too",
                               values.get(parent))
    return MappingProxyType(values)


_MISSING = object()


def _kind(value: Any) -> str:
    return "null" if value is None else "bool" if isinstance(value, bool) else "number" if isinstance(
        value, int | float) else type(value).__name__


def _in_distribution(ctx: ParseContext, param: SearchParam, value: Any, path: KeyPath) -> Any:
    """`value` as the distribution holds it (a categorical's own choice object), or a
    refusal that names what the parameter can take."""
    if param.type == "categorical":
        for choice in param.choices or ():
            if value == choice and _kind(value) == _kind(choice):  # 1.0 is choice 1, True is not
                return choice
        shown = ", ".join("null" if c is None else repr(c) for c in param.choices or ())
        raise ctx.fail(path, f"must be one of the choices of the search ({shown})", value)
    low, high = param.low, param.high
    assert low is not None and high is not None  # the search section requires both for ranges
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ctx.fail(path, f"must lie in the searched range [{low}, {high}]", value)
    if param.step and not param.log:
        n = (value - low) / param.step
        if not math.isclose(n, round(n), abs_tol=1e-9):
            raise ctx.fail(path, f"must be on the searched grid {low}, {low + param.step}, ... (step {param.step})",
                           value)
    return int(value) if param.type == "int" else float(value)
