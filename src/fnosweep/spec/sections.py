"""`parse_spec`: a plain document, section by section, into a validated `SweepSpec`.

Sections are parsed in dependency order: data first, since the model, the study's
metric and the search all check against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from fnosweep.spec._yaml import Locator
from fnosweep.spec.checks import (
    DATA_FIELDS,
    EXECUTION_FIELDS,
    FNO_FIELDS,
    MODEL_FIELDS,
    RESOURCES_FIELDS,
    SCHEDULER_FIELDS,
    TRAINING_FIELDS,
    choice,
    integer,
    list_of,
    real,
)
from fnosweep.spec.context import ParseContext
from fnosweep.spec.enqueue import parse_enqueue
from fnosweep.spec.schema import (
    DataSpec,
    ExecutionSpec,
    ModelSpec,
    ResourcesSpec,
    SchedulerSpec,
    SearchParam,
    StabilitySpec,
    SweepSpec,
    TrainingSpec,
)
from fnosweep.spec.search import parse_search
from fnosweep.spec.study import parse_study
from fnosweep.spec.thresholds import VERDICTS, ThresholdError, Thresholds
from fnosweep.spec.vocabulary import NS_ONLY, SECTIONS


def parse_spec(doc: Mapping, *, source: str = "<spec>",
               lines: Mapping[tuple[str, ...], int] | None = None) -> SweepSpec:
    """Validate a plain document (as YAML gives it) into a `SweepSpec`; raises `SpecError`.

    `lines` maps key paths to file lines, for messages. Pure apart from reading the
    environment for `${VAR}` in `study.storage`.
    """
    return parse_sections(doc, ParseContext(Locator(source, lines or {})))


def parse_stability(raw: Any, *, source: str = "<spec>") -> StabilitySpec:
    """The `stability` section alone: what a study's stored spec says about its rules
    (`diagnose STUDY`, the report). The same checks as a spec file's, unknown keys refused."""
    return _parse_stability(ParseContext(Locator(source, {})), raw)


def parse_sections(doc: Any, ctx: ParseContext) -> SweepSpec:
    """`parse_spec` with the context `load_spec` builds (file lines, `--set` origins)."""
    if not isinstance(doc, Mapping):
        raise ctx.fail((), "a spec must be a mapping of sections (study, data, model, training, "
                       "search, stability, execution)", doc)
    top = ctx.mapping(doc, (), SECTIONS)
    if "study" not in top:
        raise ctx.fail(("study",), "is required (at least study.name and study.n_trials)")
    data = _parse_data(ctx, top.get("data"))
    model = _parse_model(ctx, top.get("model"), data)
    training = _parse_training(ctx, top.get("training"))
    study = parse_study(ctx, top["study"], data)
    search = parse_search(ctx, top.get("search"), data)
    raw_study = top["study"] if isinstance(top["study"], Mapping) else {}
    study = dataclasses.replace(study, enqueue=parse_enqueue(ctx, raw_study.get("enqueue"), search,
                                                              study.n_trials))
    _check_data(ctx, data, search)
    stability = _parse_stability(ctx, top.get("stability"))
    execution = _parse_execution(ctx, top.get("execution"))
    return SweepSpec(study=study, data=data, model=model, training=training, search=search,
                     stability=stability, execution=execution, source=ctx.locator.source)


def _parse_data(ctx: ParseContext, raw: Any) -> DataSpec:
    raw = ctx.mapping(raw, ("data",), tuple(DATA_FIELDS))
    values = ctx.fields(raw, ("data",), DATA_FIELDS)
    problem = values.get("problem", "darcy")
    if problem != "navier-stokes":
        for key in NS_ONLY:
            if key in values:
                raise ctx.fail(("data", key), f"is used only by problem navier-stokes, not "
                               f"{problem}", values[key])
    if "name" not in values:
        if problem == "files":
            raise ctx.fail(("data", "name"), "is required with problem files (files are "
                           "{name}_train_{res}.pt and {name}_test_{res}.pt)")
        values["name"] = problem.replace("-", "_")
    values.setdefault("test_resolutions", (values.get("resolution", DataSpec.resolution),))
    spec = DataSpec(**values)
    if spec.dt > spec.t_final:
        raise ctx.fail(("data", "dt"), f"must be <= t_final ({spec.t_final:g})", spec.dt)
    return spec


def _check_data(ctx: ParseContext, data: DataSpec, search: tuple[SearchParam, ...]) -> None:
    """The data checks a trial runs before it writes (`fnosweep.data.check_data`: the
    CFL estimate, even Navier–Stokes grids, t_final a multiple of dt), run here so that a
    bad spec is refused before a study database is written. A user's own files are
    checked by the driver where it runs (they may exist only on the cluster a spec is
    submitted to).

    They run on the base data and on each value a searched data field can take that
    can be listed: every categorical choice; an int range's low, low + step (its other
    parity) and high; a float range's low and high. Values strictly inside a float
    range, and combinations of several searched data fields, are checked per trial.
    """
    from fnosweep.data.dataset import check_data  # numpy only
    from fnosweep.errors import DataError

    candidates: list[tuple[tuple[str, ...] | None, DataSpec]] = [(None, data)]
    for param in search:
        if param.key.startswith("data."):
            name = param.key.removeprefix("data.")
            for sub, value in _listed_values(param):
                candidates.append((("search", param.key, *sub), dataclasses.replace(data, **{name: value})))
    for where, candidate in candidates:
        try:
            check_data(candidate, files=False)
        except DataError as e:
            field = getattr(e, "field", None)  # the base data: point at the field at fault
            base = ("data", field) if field in DATA_FIELDS else ("data",)
            raise ctx.fail(base if where is None else where, str(e)) from None


def _listed_values(param: SearchParam) -> list[tuple[tuple[str, ...], Any]]:
    """(key path under the parameter, value) of the values `_check_data` tries."""
    if param.type == "categorical":
        return [(("choices", f"[{i}]"), v) for i, v in enumerate(param.choices or ())]
    values: list[tuple[tuple[str, ...], Any]] = [(("low",), param.low), (("high",), param.high)]
    if param.type == "int" and param.step and param.low is not None and param.high is not None:
        second = param.low + param.step
        if second < param.high:
            values.insert(1, (("step",), second))
    return values


def _parse_model(ctx: ParseContext, raw: Any, data: DataSpec) -> ModelSpec:
    raw = ctx.mapping(raw, ("model",), (*MODEL_FIELDS, *FNO_FIELDS))
    base = ctx.fields(raw, ("model",), MODEL_FIELDS)
    extra = ctx.fields(raw, ("model",), FNO_FIELDS)
    spec = ModelSpec(**base, extra=extra)
    if data.problem != "files" and len(spec.n_modes) != 2:
        raise ctx.fail(("model", "n_modes"), f"must have 2 entries for the 2-D problem "
                       f"{data.problem}", list(spec.n_modes))
    max_modes = extra.get("max_n_modes")
    if max_modes is not None and len(max_modes) != len(spec.n_modes):
        raise ctx.fail(("model", "max_n_modes"), f"must have {len(spec.n_modes)} entries, one "
                       "per entry of n_modes", list(max_modes))
    return spec


def _parse_training(ctx: ParseContext, raw: Any) -> TrainingSpec:
    raw = ctx.mapping(raw, ("training",), (*TRAINING_FIELDS, "scheduler"))
    values = ctx.fields(raw, ("training",), TRAINING_FIELDS)
    scheduler = _nested(ctx, raw, ("training", "scheduler"), SCHEDULER_FIELDS)
    return TrainingSpec(**values, scheduler=SchedulerSpec(**scheduler))


def _parse_execution(ctx: ParseContext, raw: Any) -> ExecutionSpec:
    raw = ctx.mapping(raw, ("execution",), (*EXECUTION_FIELDS, "resources"))
    values = ctx.fields(raw, ("execution",), EXECUTION_FIELDS)
    resources = _nested(ctx, raw, ("execution", "resources"), RESOURCES_FIELDS)
    return ExecutionSpec(**values, resources=ResourcesSpec(**resources))


def _nested(ctx: ParseContext, raw: Mapping[str, Any], path: tuple[str, str], fields: Any) -> dict[str, Any]:
    """The checked fields of a sub-mapping such as `training.scheduler`."""
    return ctx.fields(ctx.mapping(raw.get(path[-1]), path, tuple(fields)), path, fields)


def _parse_stability(ctx: ParseContext, raw: Any) -> StabilitySpec:
    numbers = {f.name: (integer() if type(f.default) is int else real())
               for f in dataclasses.fields(Thresholds)}
    raw = ctx.mapping(raw, ("stability",), ("prune_on", *numbers))
    codes = tuple(v for v in VERDICTS if v != "healthy")
    values = ctx.fields(raw, ("stability",), {"prune_on": list_of(choice(*codes), min_len=0)})
    prune_on = values.get("prune_on", StabilitySpec.prune_on)
    if len(set(prune_on)) != len(prune_on):
        raise ctx.fail(("stability", "prune_on"), "lists a verdict twice", list(prune_on))
    try:
        thresholds = Thresholds(**ctx.fields(raw, ("stability",), numbers))
    except ThresholdError as e:  # Thresholds.__post_init__ refuses a value out of its range
        raise ctx.fail(("stability", e.name), e.what, e.value) from None
    except (TypeError, ValueError) as e:
        raise ctx.fail(("stability",), f"thresholds refused: {e}") from None
    return StabilitySpec(prune_on=prune_on, thresholds=thresholds)
