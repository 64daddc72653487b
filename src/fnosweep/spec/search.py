"""The search section: one Optuna distribution per searched field, maybe conditional.

Bounds and choices are checked as values of the field they search; `when` conditions
must name another searched int or categorical parameter and values it can take, and
must not form a cycle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any

from fnosweep.spec._yaml import KeyPath, show_name
from fnosweep.spec.checks import BOOL, SEARCHABLE_FIELDS, Check, Invalid, choice, integer, real
from fnosweep.spec.context import ParseContext
from fnosweep.spec.schema import DataSpec, SearchParam
from fnosweep.spec.vocabulary import NS_ONLY, SEARCH_TYPES, SECTIONS

_PARAM_KEYS = {
    "float": ("type", "low", "high", "log", "step", "when"),
    "int": ("type", "low", "high", "log", "step", "when"),
    "categorical": ("type", "choices", "when"),
}
_SEARCHABLE_SECTIONS = ("data", "model", "training")


def parse_search(ctx: ParseContext, raw: Any, data: DataSpec) -> tuple[SearchParam, ...]:
    """The search section as parameters in spec order, conditions checked and normalised."""
    raw = ctx.mapping(raw, ("search",))
    if not raw:
        raise ctx.fail(("search",), "the search space is empty; add at least one parameter, "
                       "e.g. training.lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}")
    params = [_parse_param(ctx, key, body, data) for key, body in raw.items()]
    by_key = {p.key: p for p in params}
    params = [dataclasses.replace(p, when=_check_when(ctx, p, by_key)) for p in params]
    _refuse_cycles(ctx, {p.key: tuple(p.when) for p in params})
    return tuple(params)


def _field_check(ctx: ParseContext, key: str, data: DataSpec) -> Check:
    path = ("search", key)
    section = key.split(".", 1)[0]
    if section in SECTIONS and section not in _SEARCHABLE_SECTIONS:
        raise ctx.fail(path, f"{section} settings cannot be searched, only fields of data, "
                       "model and training")
    if key not in SEARCHABLE_FIELDS:
        hint = difflib.get_close_matches(key, SEARCHABLE_FIELDS, n=1)
        raise ctx.fail(path, "names no field of data, model or training" +
                       (f" (did you mean {hint[0]}?)" if hint else ""))
    if key.startswith("data.") and key[5:] in NS_ONLY and data.problem != "navier-stokes":
        raise ctx.fail(path, f"is used only by problem navier-stokes, not {data.problem}")
    return SEARCHABLE_FIELDS[key]


def _parse_param(ctx: ParseContext, key: str, body: Any, data: DataSpec) -> SearchParam:
    path = ("search", key)
    check = _field_check(ctx, key, data)
    if not isinstance(body, Mapping):
        raise ctx.fail(path, "must be a mapping such as {type: float, low: 1, high: 2}", body)
    if "type" not in body:
        raise ctx.fail((*path, "type"), f"is required: one of {', '.join(SEARCH_TYPES)}")
    kind = ctx.check(choice(*SEARCH_TYPES), body["type"], (*path, "type"))
    body = ctx.mapping(body, path, _PARAM_KEYS[kind])
    when = _parse_when(ctx, body.get("when"), (*path, "when"))
    if kind == "categorical":
        return SearchParam(key=key, type=kind, choices=_parse_choices(ctx, body, path, check),
                           when=when)
    if check.kind != kind:
        fits = "categorical" if check.kind == "other" else f"{check.kind} or categorical"
        raise ctx.fail((*path, "type"), f"does not fit the field; use {fits}", kind)
    low, high = (_bound(ctx, body, (*path, end), check) for end in ("low", "high"))
    if low > high:
        raise ctx.fail((*path, "low"), f"must be <= high ({high})", low)
    log = ctx.check(BOOL, body.get("log", False), (*path, "log"))
    if log and low <= 0:
        raise ctx.fail((*path, "low"), "must be > 0 with log: true", low)
    step = None
    if "step" in body:
        if log:
            raise ctx.fail((*path, "step"), "cannot be used with log: true", body["step"])
        step = ctx.check(integer(ge=1) if kind == "int" else real(gt=0), body["step"],
                         (*path, "step"))
        n_steps = (high - low) / step
        if abs(n_steps - round(n_steps)) > 1e-9 * max(1.0, abs(n_steps)):
            raise ctx.fail((*path, "high"), f"high - low must be a multiple of step ({step})",
                           high)
    elif kind == "int":
        step = 1
    return SearchParam(key=key, type=kind, low=low, high=high, log=log, step=step, when=when)


def _bound(ctx: ParseContext, body: Mapping[str, Any], path: KeyPath, check: Check) -> Any:
    if path[-1] not in body:
        raise ctx.fail(path, "is required")
    if body[path[-1]] is None:
        raise ctx.fail(path, "must be a number", None)
    return ctx.check(check, body[path[-1]], path)


def _parse_choices(ctx: ParseContext, body: Mapping[str, Any], path: KeyPath, check: Check
                   ) -> tuple[Any, ...]:
    path = (*path, "choices")
    raw = body.get("choices")
    if not isinstance(raw, list | tuple) or not raw:
        raise ctx.fail(path, "must be a non-empty list of values of the field", raw)
    seen: set[tuple[str, Any]] = set()
    choices = []
    for i, item in enumerate(raw):
        at = (*path, f"[{i}]")
        value = ctx.check(check, item, at)
        if not (value is None or isinstance(value, bool | int | float | str)):
            raise ctx.fail(at, "must be null, a boolean, a number or a string (what Optuna can "
                           "store)", item)
        if (type(value).__name__, value) in seen:
            raise ctx.fail(at, "repeats an earlier choice", item)
        seen.add((type(value).__name__, value))
        choices.append(value)
    return tuple(choices)


def _parse_when(ctx: ParseContext, raw: Any, path: KeyPath) -> dict[str, tuple[Any, ...]]:
    raw = ctx.mapping(raw, path)
    when = {}
    for key, values in raw.items():
        values = tuple(values) if isinstance(values, list | tuple) else (values,)
        if not values:
            raise ctx.fail((*path, key), "needs at least one value", [])
        when[key] = values
    return when


def _check_when(ctx: ParseContext, param: SearchParam, by_key: Mapping[str, SearchParam]
                ) -> dict[str, tuple[Any, ...]]:
    """Conditions name other searched parameters and values those can take; normalised."""
    checked = {}
    for key, values in param.when.items():
        path = ("search", param.key, "when", key)
        parent = by_key.get(key)
        if key == param.key:
            raise ctx.fail(path, "a parameter cannot be conditional on itself")
        if parent is None:
            raise ctx.fail(path, "is not a searched parameter (searched: "
                           f"{', '.join(map(show_name, by_key))})")
        if parent.type == "float":
            raise ctx.fail(path, "a condition needs a categorical or int parameter, not float")
        normal = []
        for value in values:
            with contextlib.suppress(Invalid):  # refused below, naming the possible values
                value = SEARCHABLE_FIELDS[key](value)
            if parent.type == "categorical":
                ok = any(value == c and type(value) is type(c) for c in parent.choices or ())
                shown = ", ".join(map(repr, parent.choices or ()))
                expected = f"one of the choices of {key} ({shown})"
            else:
                low, high, step = int(parent.low or 0), int(parent.high or 0), int(parent.step or 1)
                ok = (isinstance(value, int) and not isinstance(value, bool)
                      and low <= value <= high and (value - low) % step == 0)
                expected = f"an int {key} can take ({low}..{high} step {step})"
            if not ok:
                raise ctx.fail(path, f"must be {expected}", value)
            normal.append(value)
        checked[key] = tuple(normal)
    return checked


def _refuse_cycles(ctx: ParseContext, parents: Mapping[str, tuple[str, ...]]) -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(key: str, trail: tuple[str, ...]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = trail[trail.index(key):] + (key,)
            raise ctx.fail(("search", key, "when"), "conditions form a cycle: " +
                           " -> ".join(map(show_name, cycle)))
        state[key] = 1
        for parent in parents.get(key, ()):
            visit(parent, (*trail, key))
        state[key] = 2

    for key in parents:
        visit(key, ())
