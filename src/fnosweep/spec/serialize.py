"""A spec back to the plain document it was parsed from, and the bounds it implies."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fnosweep.spec.vocabulary import NS_ONLY

if TYPE_CHECKING:  # schema.py imports this module for SweepSpec's methods
    from fnosweep.spec.schema import SearchParam, SweepSpec


def max_epochs(spec: SweepSpec) -> int:
    """Most epochs one trial can train: training.epochs, or the top of its searched range."""
    for p in spec.search:
        if p.key == "training.epochs":
            top = p.high if p.type == "int" else max(p.choices or (spec.training.epochs,))
            return int(top if top is not None else spec.training.epochs)
    return spec.training.epochs


def _plain_out(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain_out(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain_out(v) for k, v in value.items()}
    return value


def param_to_dict(param: SearchParam) -> dict[str, Any]:
    """A search parameter as the spec writes it (`type`, bounds or choices, `when`)."""
    out: dict[str, Any] = {"type": param.type}
    if param.type == "categorical":
        out["choices"] = list(param.choices or ())
    else:
        out.update(low=param.low, high=param.high, log=param.log)
        if param.step is not None and not param.log:
            out["step"] = param.step
    if param.when:
        out["when"] = {k: list(v) for k, v in param.when.items()}
    return out


def spec_to_dict(spec: SweepSpec) -> dict[str, Any]:
    """`SweepSpec.to_dict`: every section written out, data's navier-stokes fields only for it."""
    study = spec.study
    data = {f.name: getattr(spec.data, f.name) for f in dataclasses.fields(spec.data)}
    if spec.data.problem != "navier-stokes":
        for key in NS_ONLY:
            del data[key]
    elif not spec.data.t0:
        del data["t0"]  # the default: specs (and stored studies) from before t0 read the same
    training = {f.name: getattr(spec.training, f.name) for f in dataclasses.fields(spec.training)}
    training["scheduler"] = dataclasses.asdict(spec.training.scheduler)
    if training["precision"] == "fp32":
        del training["precision"]  # the default: studies stored from before precision resume as they were
    execution = dataclasses.asdict(spec.execution)
    return _plain_out({
        "study": {
            "name": study.name, "storage": study.storage_source or study.storage,
            "direction": study.direction,
            "metric": study.metric, "n_trials": study.n_trials,
            "sampler": {"type": study.sampler.type, "seed": study.sampler.seed,
                        **study.sampler.args},
            "pruner": {"type": study.pruner.type, **study.pruner.args},
            **({"enqueue": [dict(e) for e in study.enqueue]} if study.enqueue else {}),
        },
        "data": data,
        "model": {"n_modes": spec.model.n_modes, "hidden_channels": spec.model.hidden_channels,
                  "n_layers": spec.model.n_layers, **spec.model.extra},
        "training": training,
        "search": {p.key: param_to_dict(p) for p in spec.search},
        "stability": {"prune_on": spec.stability.prune_on,
                      **dataclasses.asdict(spec.stability.thresholds)},
        "execution": execution,
    })
