"""The sweep spec: YAML → frozen, typed, validated objects.

`read_spec` reads a file (with the line of every key), applies `--set` overrides and
hands the document to `parse_spec`, which checks everything once, at the boundary:
every rejection is one `SpecError` line, `<file>:<line>: <key path>: <what is wrong>,
but got <value>`.

- `schema`: the frozen dataclasses (`SweepSpec` and its sections, `TrialConfig`).
- `vocabulary`: allowed names, and the sampler and pruner argument tables.
- `checks`: one small check per field; `context`: a refusal → one located error line.
- `sections`, `study`, `search`: `parse_spec`, one function per section.
- `load`: `read_spec`; `_yaml`: YAML with key lines (`Locator`), `--set` overrides.
- `serialize`: `SweepSpec.to_dict` and `param_to_dict`.

Importing this package loads neither torch, ray, neuralop nor optuna, so `fnosweep
validate` stays light, and nothing here imports optuna at all: `fnosweep.space.load_spec`
(one layer up) is `read_spec` plus the sampler and pruner tried on Optuna's classes.
"""

from fnosweep.spec._yaml import Locator
from fnosweep.spec.checks import FNO_ARGS, check_value
from fnosweep.spec.load import read_spec
from fnosweep.spec.schema import (
    DataSpec,
    ExecutionSpec,
    ModelSpec,
    PrunerSpec,
    ResourcesSpec,
    SamplerSpec,
    SchedulerSpec,
    SearchParam,
    StabilitySpec,
    StudySpec,
    SweepSpec,
    TrainingSpec,
    TrialConfig,
)
from fnosweep.spec.sections import parse_spec, parse_stability
from fnosweep.spec.serialize import param_to_dict
from fnosweep.spec.vocabulary import (
    BACKENDS,
    DIRECTIONS,
    LOSSES,
    NESTED_PRUNER,
    OPTIMIZERS,
    PROBLEMS,
    PRUNERS,
    SAMPLERS,
    SCHEDULERS,
    SEARCH_TYPES,
)

__all__ = [
    "BACKENDS",
    "DIRECTIONS",
    "FNO_ARGS",
    "LOSSES",
    "NESTED_PRUNER",
    "OPTIMIZERS",
    "PROBLEMS",
    "PRUNERS",
    "SAMPLERS",
    "SCHEDULERS",
    "SEARCH_TYPES",
    "DataSpec",
    "ExecutionSpec",
    "ModelSpec",
    "PrunerSpec",
    "ResourcesSpec",
    "SamplerSpec",
    "SchedulerSpec",
    "SearchParam",
    "StabilitySpec",
    "StudySpec",
    "SweepSpec",
    "TrainingSpec",
    "Locator",
    "TrialConfig",
    "check_value",
    "param_to_dict",
    "parse_spec",
    "parse_stability",
    "read_spec",
]
