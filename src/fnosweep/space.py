"""The search space for Optuna: distributions, suggestions, trial configs, fingerprint;
and `load_spec`, a spec file whose sampler and pruner Optuna's own classes accept.

Everything else here is a pure function of a `SweepSpec` (and a trial for `suggest`). Only
this module and the driver import optuna; nothing here imports torch or ray.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from fnosweep.errors import SpecError
from fnosweep.spec import (
    NESTED_PRUNER,
    PRUNERS,
    SAMPLERS,
    ModelSpec,
    SearchParam,
    SweepSpec,
    TrialConfig,
    check_value,
    read_spec,
)

_SUMMARY_VERSION = 1
"""Bump when the canonical form changes meaning (every fingerprint changes with it)."""

_NEEDS = {"cmaes": ("cmaes",), "gp": ("torch", "scipy")}
"""Packages a sampler imports only when it first samples: missing ones fail at validate."""


def _bounds(param: SearchParam) -> tuple[float | int, float | int]:
    if param.low is None or param.high is None:  # only a SearchParam built by hand
        raise SpecError(f"search -> {param.key}: a {param.type} parameter needs low and high, "
                        f"but got low={param.low!r}, high={param.high!r}")
    return param.low, param.high


def distribution(param: SearchParam) -> BaseDistribution:
    """The Optuna distribution of one searched parameter."""
    if param.type == "categorical":
        return CategoricalDistribution(param.choices or ())
    low, high = _bounds(param)
    if param.type == "float":
        return FloatDistribution(float(low), float(high), log=param.log, step=param.step)
    return IntDistribution(int(low), int(high), log=param.log, step=int(param.step or 1))


def distributions(spec: SweepSpec) -> dict[str, BaseDistribution]:
    """Every searched parameter's distribution, by dotted key, in spec order."""
    return {p.key: distribution(p) for p in spec.search}


def ordered(params: Sequence[SearchParam]) -> list[SearchParam]:
    """Parameters in spec order, except that a conditional one comes after its parents.

    `parse_spec` refuses cycles, so each round finds at least one parameter to place.
    """
    placed: list[SearchParam] = []
    done: set[str] = set()
    pending = list(params)
    while pending:
        ready = next((p for p in pending if all(k in done for k in p.when)), None)
        if ready is None:  # only a SweepSpec built by hand, around parse_spec, gets here
            raise SpecError("search: conditions name parameters that are not searched, or "
                            f"form a cycle, but got {[p.key for p in pending]!r}")
        pending.remove(ready)
        placed.append(ready)
        done.add(ready.key)
    return placed


def active(param: SearchParam, values: Mapping[str, Any]) -> bool:
    """Whether a parameter's `when` holds on the values suggested so far."""
    return all(key in values and values[key] in allowed for key, allowed in param.when.items())


def sample_params(trial: optuna.trial.BaseTrial, spec: SweepSpec) -> dict[str, Any]:
    """Suggest the spec's parameters on a trial; a conditional one only when its `when` holds."""
    values: dict[str, Any] = {}
    for p in ordered(spec.search):
        if not active(p, values):
            continue
        if p.type == "categorical":
            values[p.key] = trial.suggest_categorical(p.key, list(p.choices or ()))
            continue
        low, high = _bounds(p)
        if p.type == "float":
            values[p.key] = trial.suggest_float(p.key, float(low), float(high), step=p.step,
                                                log=p.log)
        else:
            values[p.key] = trial.suggest_int(p.key, int(low), int(high),
                                              step=int(p.step or 1), log=p.log)
    return values


def trial_config(spec: SweepSpec, params: Mapping[str, Any], *, trial_number: int,
                 attempt: int = 0) -> TrialConfig:
    """The spec's data, model and training with `params` applied by dotted key.

    Each value is checked as the spec checks that field (an enqueued or stored trial
    may carry anything); `scheduler.T_max` null becomes the trial's epochs.
    """
    data, model, training = spec.data, spec.model, spec.training
    model_fields = {f.name for f in dataclasses.fields(ModelSpec)} - {"extra"}
    applied: dict[str, Any] = {}
    for key, raw in params.items():
        value = applied[key] = check_value(key, raw)
        section, name = key.split(".", 1)
        if section == "data":
            data = dataclasses.replace(data, **{name: value})
        elif section == "model" and name in model_fields:
            model = dataclasses.replace(model, **{name: value})
        elif section == "model":
            model = dataclasses.replace(model, extra={**model.extra, name: value})
        elif name.startswith("scheduler."):
            scheduler = dataclasses.replace(training.scheduler, **{name[10:]: value})
            training = dataclasses.replace(training, scheduler=scheduler)
        else:
            training = dataclasses.replace(training, **{name: value})
    if training.scheduler.T_max is None:
        scheduler = dataclasses.replace(training.scheduler, T_max=training.epochs)
        training = dataclasses.replace(training, scheduler=scheduler)
    return TrialConfig(study_name=spec.study.name, trial_number=trial_number, attempt=attempt,
                       params=applied, data=data, model=model, training=training,
                       metric=spec.study.metric)


def space_summary(spec: SweepSpec) -> dict[str, Any]:
    """The canonical, JSON-able search space (what `fingerprint` hashes; kept in the study)."""
    return {
        "version": _SUMMARY_VERSION,
        "params": {
            p.key: {
                "type": p.type,
                "low": p.low,
                "high": p.high,
                "log": p.log,
                "step": p.step,
                "choices": None if p.choices is None else list(p.choices),
                "when": {k: list(v) for k, v in sorted(p.when.items())},
            }
            for p in spec.search
        },
    }


def fingerprint(spec: SweepSpec) -> str:
    """16 hex digits of the sha256 of the canonical search space.

    Any change of keys, types, bounds, log, step, choices or conditions changes it;
    the order of the parameters and everything outside `search` do not.
    """
    text = json.dumps(space_summary(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _show(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def describe(spec: SweepSpec) -> list[tuple[str, str]]:
    """Human rows for `fnosweep validate`: (key, e.g. "float in [1e-05, 0.1], log")."""
    rows = []
    for p in spec.search:
        if p.type == "categorical":
            text = f"one of [{', '.join(_show(c) for c in p.choices or ())}]"
        else:
            text = f"{p.type} in [{p.low!r}, {p.high!r}]"
            if p.log:
                text += ", log"
            if p.step is not None and not (p.type == "int" and p.step == 1):
                text += f", step {p.step!r}"
        conditions = [
            f"{key} = {_show(values[0])}" if len(values) == 1
            else f"{key} in [{', '.join(_show(v) for v in values)}]"
            for key, values in p.when.items()
        ]
        if conditions:
            text += " when " + " and ".join(conditions)
        rows.append((p.key, text))
    return rows


def _construct(cls: type, kwargs: dict[str, Any], path: tuple[str, ...]) -> Any:
    """`cls(**kwargs)`, refusing names its signature lacks and translating its own refusals."""
    where = " -> ".join(path)
    parameters = {
        name: p for name, p in inspect.signature(cls).parameters.items()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }
    for name in kwargs:
        if name not in parameters:
            raise SpecError(f"{where} -> {name}: not an argument of {cls.__module__.split('._')[0]}"
                            f".{cls.__name__} (arguments: {', '.join(parameters) or 'none'})")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise SpecError(f"{where}: {cls.__name__}({shown}) refused: {e}") from e


def build_sampler(spec: SweepSpec) -> optuna.samplers.BaseSampler:
    """The study's sampler: type, seed and other arguments from the spec."""
    sampler = spec.study.sampler
    for package in _NEEDS.get(sampler.type, ()):
        if importlib.util.find_spec(package) is None:
            raise SpecError(f"study -> sampler -> type: sampler {sampler.type} needs the Python "
                            f"package {package}, which is not installed, but got "
                            f"{sampler.type!r}")
    kwargs = dict(sampler.args)
    if sampler.seed is not None:
        kwargs["seed"] = sampler.seed
    cls = getattr(optuna.samplers, SAMPLERS[sampler.type][0])
    return _construct(cls, kwargs, ("study", "sampler"))


def build_pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    """The study's pruner (median by default; `none` → NopPruner). A curve pruner without
    `max_resource` projects to the last epoch of `training.epochs` (to the finished trials'
    last epoch when the epochs are searched)."""
    args = dict(spec.study.pruner.args)
    if spec.study.pruner.type == "curve" and "max_resource" not in args:
        searched = any(p.key == "training.epochs" for p in spec.search)
        args["max_resource"] = "auto" if searched else spec.training.epochs - 1
    return _pruner(spec.study.pruner.type, args, ("study", "pruner"))


def pruner_class(kind: str) -> type:
    """The class behind a pruner type: Optuna's, or fnosweep's own (a dotted path)."""
    name = PRUNERS[kind][0]
    if "." not in name:
        cls: type = getattr(optuna.pruners, name)
        return cls
    module, _, attr = name.rpartition(".")
    own: type = getattr(importlib.import_module(module), attr)
    return own


def _pruner(kind: str, args: Mapping[str, Any], path: tuple[str, ...]) -> optuna.pruners.BasePruner:
    if kind not in PRUNERS:
        raise SpecError(f"{' -> '.join(path)} -> type: must be one of {', '.join(PRUNERS)}, "
                        f"but got {kind!r}")
    kwargs = dict(args)
    nested = NESTED_PRUNER.get(kind)
    inner = kwargs.get(nested) if nested else None
    if nested and isinstance(inner, Mapping):  # a pruner mapping, built first
        inner_args = {k: v for k, v in inner.items() if k != "type"}
        kwargs[nested] = _pruner(inner.get("type", "median"), inner_args, (*path, nested))
    return _construct(pruner_class(kind), kwargs, path)


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> SweepSpec:
    """Read, override (`dotted.key=value`) and validate a spec file; raises `SpecError`.

    Past the spec's own checks (`fnosweep.spec.read_spec`), the sampler and pruner arguments
    are tried on Optuna's own classes, so a value Optuna refuses is reported at its line
    before anything touches the database.
    """
    spec, locator = read_spec(path, overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning of some samplers and pruners
        for part, build in (("sampler", build_sampler), ("pruner", build_pruner)):
            try:
                build(spec)
            except SpecError as e:
                raise SpecError(f"{locator.where(('study', part))}: {e}") from None
    return spec
