"""The study section: storage URL from the environment, metric, sampler and pruner.

Sampler and pruner arguments are checked by name here (from `SAMPLERS` and `PRUNERS`);
`load_spec` then builds them with Optuna to check their values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fnosweep.spec._yaml import KeyPath
from fnosweep.spec.checks import NAME, Check, Invalid, choice, integer, optional, plain, string
from fnosweep.spec.context import ParseContext
from fnosweep.spec.schema import DataSpec, PrunerSpec, SamplerSpec, StudySpec
from fnosweep.spec.vocabulary import DIRECTIONS, NESTED_PRUNER, PRUNERS, SAMPLERS
from fnosweep.urls import redact, shape_problem


def _expand_storage(value: str) -> str:
    def env(match: re.Match[str]) -> str:
        name = match.group(1)
        if not os.environ.get(name):
            raise Invalid(f"environment variable {name} is not set (or empty)", value)
        return os.environ[name]

    url = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", env, value)
    # the resolved URL may hold a password: show only what the spec wrote, credentials masked
    problem = shape_problem(url) if re.match(r"[A-Za-z][A-Za-z0-9+]*://", url) else ""
    if problem is not None:
        raise Invalid(f"must be a database URL such as sqlite:///studies/x.db or "
                      f"postgresql+psycopg://user@host/db{f' ({problem})' if problem else ''}; "
                      "a password belongs in ${VAR}", redact(value))
    return url


def _metric_check(test_resolutions: tuple[int, ...]) -> Check:
    def check(value: Any) -> str:
        metric = string(what="train_loss or eval.<resolution>_<l2|h1>")(value)
        if metric == "train_loss":
            return metric
        match = re.fullmatch(r"eval\.(\d+)_(l2|h1)", metric)
        if match is None:
            raise Invalid("must be train_loss or eval.<resolution>_<l2|h1>, e.g. eval.32_l2",
                           value)
        if int(match.group(1)) not in test_resolutions:
            raise Invalid("must name one of data.test_resolutions "
                           f"({', '.join(map(str, test_resolutions))})", value)
        return metric

    return Check(check)


def parse_study(ctx: ParseContext, raw: Any, data: DataSpec) -> StudySpec:
    """The study section; storage and metric defaults depend on its name and the data."""
    path = ("study",)
    raw = ctx.mapping(raw, path, ("name", "storage", "direction", "metric", "n_trials",
                                  "sampler", "pruner", "enqueue"))  # enqueue: spec/enqueue.py
    for key in ("name", "n_trials"):
        if key not in raw:
            raise ctx.fail((*path, key), "is required")
    values = ctx.fields(raw, path, {
        "name": NAME, "n_trials": integer(ge=1), "direction": choice(*DIRECTIONS),
        "storage": Check(lambda v: _expand_storage(string(what="a database URL")(v))),
        "metric": _metric_check(data.test_resolutions),
    })
    values.setdefault("storage", f"sqlite:///studies/{values['name']}.db")
    if "${" in str(raw.get("storage")):
        values["storage_source"] = raw["storage"]
    res = data.resolution if data.resolution in data.test_resolutions else data.test_resolutions[0]
    values.setdefault("metric", f"eval.{res}_l2")
    return StudySpec(**values, sampler=_parse_sampler(ctx, raw.get("sampler")),
                     pruner=_parse_pruner(ctx, raw.get("pruner"), (*path, "pruner")))


def _parse_args(ctx: ParseContext, raw: Mapping[str, Any], path: KeyPath, allowed: Sequence[str],
                what: str, own: Sequence[str]) -> dict[str, Any]:
    """Keyword arguments of an Optuna class: the keys of `raw` other than `own` ones."""
    args = {}
    for key, value in raw.items():
        if key in own:
            continue
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            raise ctx.fail((*path, key), f"not an argument of {what} (arguments: {names})")
        args[key] = ctx.check(Check(plain), value, (*path, key))
    return args


def _parse_sampler(ctx: ParseContext, raw: Any) -> SamplerSpec:
    path = ("study", "sampler")
    raw = ctx.mapping(raw, path)
    kind = ctx.check(choice(*SAMPLERS), raw.get("type", "tpe"), (*path, "type"))
    cls, allowed = SAMPLERS[kind]
    seed = ctx.check(optional(integer(ge=0)), raw.get("seed"), (*path, "seed"))
    args = _parse_args(ctx, raw, path, allowed, f"optuna.samplers.{cls}",
                       ("type", "seed"))
    return SamplerSpec(type=kind, seed=seed, args=args)


def _parse_pruner(ctx: ParseContext, raw: Any, path: KeyPath) -> PrunerSpec:
    raw = ctx.mapping(raw, path)
    kind = ctx.check(choice(*PRUNERS), raw.get("type", "median"), (*path, "type"))
    cls, allowed, required = PRUNERS[kind]
    for key in required:
        if key not in raw:
            raise ctx.fail((*path, key), f"is required by pruner {kind}")
    what = cls if "." in cls else f"optuna.pruners.{cls}"
    args = _parse_args(ctx, raw, path, allowed, what, ("type",))
    nested = NESTED_PRUNER.get(kind)
    if nested is not None and args.get(nested) is not None:
        inner = _parse_pruner(ctx, raw[nested], (*path, nested))
        args[nested] = {"type": inner.type, **inner.args}
    return PrunerSpec(type=kind, args=args)
