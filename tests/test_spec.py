"""The sweep spec: good specs parse into the expected values, bad ones fail with one line
that names the file, the line, the key path and the bad value."""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fnosweep.errors import SpecError
from fnosweep.space import load_spec
from fnosweep.spec import FNO_ARGS, SweepSpec, check_value, parse_spec

STUDY = "study: {name: t, n_trials: 2}"
SEARCH = "search: {training.lr: {type: float, low: 1.0e-5, high: 0.1, log: true}}"


def write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def doc(*lines: str, study: str = STUDY, search: str = SEARCH) -> str:
    """A spec whose own lines start at line 3 (line 1: study, line 2: search)."""
    return "\n".join([study, search, *lines]) + "\n"


def refused(tmp_path: Path, text: str, overrides: tuple[str, ...] = ()) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


def with_files(tmp_path: Path, text: str, *, n: int = 500, res: int = 16) -> str:
    """`text` with its '@FILES@' root replaced by a folder holding valid files mine_*_16.pt."""
    if "@FILES@" not in text:
        return text
    import torch

    from fnosweep.data.io import split_path

    for split in ("train", "test"):
        field = torch.zeros(n, res, res)
        torch.save({"x": field, "y": field}, split_path(tmp_path, "mine", split, res))
    return text.replace("@FILES@", str(tmp_path))


# ------------------------------------------------------------------------------ good specs

DESIGN_EXAMPLE = """
study:
  name: fno-darcy
  direction: minimize
  metric: eval.32_l2
  n_trials: 40
  sampler: {type: tpe, seed: 0}
  pruner: {type: median, n_startup_trials: 5}
data: {problem: darcy, root: data/, resolution: 32, test_resolutions: [32, 64],
       n_train: 500, n_test: 100, seed: 0}
model: {n_modes: [12, 12], hidden_channels: 32, n_layers: 4}
training: {optimizer: adamw, lr: 1.0e-3, weight_decay: 1.0e-4, clip_threshold: 1.0,
           scheduler: {type: cosine, T_max: 20}, batch_size: 16, epochs: 20, loss: h1,
           device: auto, seed: 0}
search:
  training.lr:             {type: float, low: 1.0e-5, high: 1.0e-1, log: true}
  training.clip_threshold: {type: categorical, choices: [null, 0.5, 1.0, 10.0]}
  training.scheduler.type: {type: categorical, choices: [step, cosine, plateau]}
  training.scheduler.step_size: {type: int, low: 5, high: 20, when: {training.scheduler.type: step}}
  training.batch_size:     {type: categorical, choices: [8, 16, 32]}
  model.hidden_channels:   {type: int, low: 16, high: 64, step: 16}
stability: {prune_on: [diverged, exploding_gradients], explode_growth: 20}
execution: {address: null, max_concurrent: 2, resources: {cpu: 1, gpu: 0}, retries: 1,
            trial_timeout_s: 3600}
"""

GOOD = [
    ("minimal", doc(), lambda s: (
        s.study.storage == "sqlite:///studies/t.db" and s.study.metric == "eval.32_l2"
        and s.study.sampler.type == "tpe" and s.study.pruner.type == "median"
        and s.data.name == "darcy" and s.data.test_resolutions == (32,)
        and s.training.scheduler.type == "cosine" and s.training.scheduler.T_max is None
        and s.stability.prune_on == ("diverged", "exploding_gradients")
        and s.execution.backend == "ray" and s.budget_epochs == 40)),
    ("design example", DESIGN_EXAMPLE, lambda s: (
        len(s.search) == 6 and s.search[3].when == {"training.scheduler.type": ("step",)}
        and s.search[1].choices == (None, 0.5, 1.0, 10.0) and s.search[5].step == 16
        and s.stability.thresholds.explode_growth == 20.0 and s.data.root == "data/")),
    ("1e-3 is a number", doc("training: {lr: 1e-3, weight_decay: 1e-4}"), lambda s: (
        s.training.lr == 0.001 and s.training.weight_decay == 0.0001)),
    ("1.0e3 too (PyYAML wants a signed exponent)", doc("execution: {trial_timeout_s: 1.0e3}"),
     lambda s: s.execution.trial_timeout_s == 1000.0),
    ("integral float for an int", doc("training: {epochs: 1e1}"), lambda s: (
        s.training.epochs == 10 and isinstance(s.training.epochs, int))),
    ("no is false for a bool",
     doc("training: {skip_nonfinite: yes}", "data: {normalize_output: no}"),
     lambda s: s.training.skip_nonfinite is True and s.data.normalize_output is False),
    ("precision bf16, searchable", doc("training: {precision: bf16}", search="search: "
                                       "{training.precision: {type: categorical, choices: [fp32, bf16]}}"),
     lambda s: s.training.precision == "bf16" and s.search[0].choices == ("fp32", "bf16")),
    ("precision fp32 by default", doc(), lambda s: s.training.precision == "fp32"),
    ("navier-stokes", doc("data: {problem: navier-stokes, viscosity: 1e-4, t_final: 5, dt: 1e-3}"),
     lambda s: s.data.name == "navier_stokes" and s.data.viscosity == 1e-4),
    ("files with a name", doc("data: {problem: files, root: '@FILES@', name: mine, resolution: 16}",
                              "model: {n_modes: [4, 4, 4]}"),
     lambda s: s.data.name == "mine" and s.study.metric == "eval.16_l2"),
    ("metric default when resolution is not tested",
     doc("data: {resolution: 32, test_resolutions: [64, 128]}"),
     lambda s: s.study.metric == "eval.64_l2"),
    ("fno arguments", doc("model: {norm: group_norm, domain_padding: [0.1, 0.1], "
                          "factorization: tucker, rank: 0.5, positional_embedding: null}"),
     lambda s: s.model.fno_kwargs() == {
         "n_modes": (12, 12), "hidden_channels": 32, "n_layers": 4, "norm": "group_norm",
         "domain_padding": (0.1, 0.1), "factorization": "tucker", "rank": 0.5,
         "positional_embedding": None}),
    ("samplers and pruners", doc(study="study: {name: t, n_trials: 2, sampler: {type: random, "
                                 "seed: 3}, pruner: {type: threshold, upper: 1e3}}"),
     lambda s: s.study.sampler.seed == 3 and s.study.pruner.args == {"upper": 1000.0}),
    ("patient pruner wraps a pruner",
     doc(study="study: {name: t, n_trials: 2, pruner: {type: patient, patience: 2, "
         "wrapped_pruner: {type: percentile, percentile: 25}}}"),
     lambda s: s.study.pruner.args["wrapped_pruner"] == {"type": "percentile", "percentile": 25}),
    ("no pruner", doc(study="study: {name: t, n_trials: 2, pruner: {type: none}}"),
     lambda s: s.study.pruner.type == "none"),
    ("curve pruner, or a median pruner",
     doc(study="study: {name: t, n_trials: 2, pruner: {type: curve, confidence: 0.8, "
         "or_pruner: {type: median, n_startup_trials: 3}}}"),
     lambda s: s.study.pruner.args == {"confidence": 0.8,
                                       "or_pruner": {"type": "median", "n_startup_trials": 3}}),
    ("anchors and merge keys", """
        study: {name: t, n_trials: 2}
        search:
          training.lr: &range {type: float, low: 1.0e-5, high: 0.1}
          training.weight_decay: {<<: *range, low: 0.0}
        """, lambda s: s.search[1].low == 0.0 and s.search[1].high == 0.1),
    ("conditional chain in any order", doc(search="""search:
  training.scheduler.gamma: {type: float, low: 0.1, high: 0.9,
                             when: {training.scheduler.step_size: [5, 10]}}
  training.scheduler.step_size: {type: categorical, choices: [5, 10, 20],
                                 when: {training.scheduler.type: step}}
  training.scheduler.type: {type: categorical, choices: [step, cosine]}"""),
     lambda s: [p.key for p in s.search][0] == "training.scheduler.gamma"),
    ("int parent of a condition", doc(search="""search:
  model.n_layers: {type: int, low: 2, high: 6, step: 2}
  model.hidden_channels: {type: int, low: 8, high: 16, when: {model.n_layers: 6}}"""),
     lambda s: s.search[1].when == {"model.n_layers": (6,)}),
    ("epochs searched: budget uses the top", doc(search="search: {training.epochs: "
                                                 "{type: int, low: 2, high: 9}}"),
     lambda s: s.budget_epochs == 18),
]


@pytest.mark.parametrize(("text", "expect"), [(t, e) for _, t, e in GOOD],
                         ids=[i for i, _, _ in GOOD])
def test_good_specs_parse(tmp_path, text, expect):
    spec = load_spec(write(tmp_path, with_files(tmp_path, text)))
    assert isinstance(spec, SweepSpec) and spec.source.endswith("x.yaml")
    assert expect(spec)


@pytest.mark.parametrize("text", [t for _, t, _ in GOOD], ids=[i for i, _, _ in GOOD])
def test_to_dict_round_trips_through_json_and_parse_spec(tmp_path, text):
    spec = load_spec(write(tmp_path, with_files(tmp_path, text)))
    plain = json.loads(json.dumps(spec.to_dict()))
    assert parse_spec(plain, source=spec.source) == spec


# ------------------------------------------------------------------------------- bad specs
# (id, text, line, key path, bad value as it must appear; None where the key is the culprit)

P = "study -> pruner"
S = "search -> training.lr"
BAD = [
    ("unknown section", doc("trainig: {lr: 0.1}"), 3, "trainig", None),
    ("unknown key", doc("training: {lr: 0.1, epoch: 3}"), 3, "training -> epoch", None),
    ("unknown nested key", doc("training:", "  scheduler: {kind: step}"), 4,
     "training -> scheduler -> kind", None),
    ("section not a mapping", doc("training: [1, 2]"), 3, "training", "[1, 2]"),
    ("study missing", SEARCH + "\n", 1, "study", None),
    ("name missing", doc(study="study: {n_trials: 2}"), 1, "study -> name", None),
    ("n_trials missing", doc(study="study: {name: t}"), 1, "study -> n_trials", None),
    ("n_trials < 1", doc(study="study:\n  name: t\n  n_trials: 0"), 3, "study -> n_trials", "0"),
    ("bool is not an int", doc(study="study: {name: t, n_trials: true}"), 1,
     "study -> n_trials", "True"),
    ("not an integer", doc(study="study: {name: t, n_trials: 2.5}"), 1, "study -> n_trials",
     "2.5"),
    ("bad study name", doc(study="study: {name: my study, n_trials: 2}"), 1, "study -> name",
     "'my study'"),
    ("no is not a string", doc(study="study: {name: no, n_trials: 2}"), 1, "study -> name",
     "False"),
    ("direction", doc(study="study: {name: t, n_trials: 2, direction: up}"), 1,
     "study -> direction", "'up'"),
    ("metric not a test resolution", doc(study="study: {name: t, n_trials: 2, metric: eval.64_l2}"),
     1, "study -> metric", "'eval.64_l2'"),
    ("metric unknown", doc(study="study: {name: t, n_trials: 2, metric: loss}"), 1,
     "study -> metric", "'loss'"),
    ("unknown pruner", doc(study="study:\n  name: t\n  n_trials: 2\n  pruner: {type: medain}"),
     4, f"{P} -> type", "'medain'"),
    ("unknown pruner arg", doc(study="study: {name: t, n_trials: 2, pruner: {n_startup: 3}}"), 1,
     f"{P} -> n_startup", None),
    ("pruner arg missing", doc(study="study: {name: t, n_trials: 2, pruner: {type: percentile}}"),
     1, f"{P} -> percentile", None),
    ("pruner arg refused by optuna",
     doc(study="study:\n  name: t\n  n_trials: 2\n  pruner: {n_startup_trials: -1}"), 4, P, "-1"),
    ("unknown curve pruner arg",
     doc(study="study: {name: t, n_trials: 2, pruner: {type: curve, confidnce: 0.9}}"), 1,
     f"{P} -> confidnce", None),
    ("curve pruner arg refused",
     doc(study="study:\n  name: t\n  n_trials: 2\n  pruner: {type: curve, confidence: 1.5}"), 4,
     P, "confidence=1.5"),
    ("curve pruner headroom refused",
     doc(study="study:\n  name: t\n  n_trials: 2\n  pruner: {type: curve, headroom: -1}"), 4,
     P, "headroom=-1"),
    ("curve pruner's or_pruner unknown",
     doc(study="study: {name: t, n_trials: 2, pruner: {type: curve, or_pruner: {type: medain}}}"),
     1, f"{P} -> or_pruner -> type", "'medain'"),
    ("unknown sampler", doc(study="study: {name: t, n_trials: 2, sampler: {type: bayes}}"), 1,
     "study -> sampler -> type", "'bayes'"),
    ("unknown sampler arg", doc(study="study: {name: t, n_trials: 2, sampler: {gamma: 3}}"), 1,
     "study -> sampler -> gamma", None),
    ("negative sampler seed", doc(study="study: {name: t, n_trials: 2, sampler: {seed: -1}}"), 1,
     "study -> sampler -> seed", "-1"),
    ("storage not a URL", doc(study="study: {name: t, n_trials: 2, storage: studies/t.db}"), 1,
     "study -> storage", "'studies/t.db'"),
    ("storage variable missing",
     doc(study="study: {name: t, n_trials: 2, storage: '${FNOSWEEP_TEST_UNSET}'}"), 1,
     "study -> storage", "FNOSWEEP_TEST_UNSET"),
    ("unknown problem", doc("data: {problem: darcyy}"), 3, "data -> problem", "'darcyy'"),
    ("resolution < 4", doc("data:", "  resolution: 2"), 4, "data -> resolution", "2"),
    ("a bad test resolution", doc("data:", "  test_resolutions:", "    - 32", "    - 3"), 6,
     "data -> test_resolutions[1]", "3"),
    ("n_train < 1", doc("data: {n_train: 0}"), 3, "data -> n_train", "0"),
    ("viscosity for darcy", doc("data: {viscosity: 1e-4}"), 3, "data -> viscosity", "0.0001"),
    ("viscosity <= 0", doc("data: {problem: navier-stokes, viscosity: 0}"), 3,
     "data -> viscosity", "0.0"),
    ("dt > t_final", doc("data: {problem: navier-stokes, t_final: 1, dt: 2}"), 3, "data -> dt",
     "2.0"),
    ("files need a name", doc("data: {problem: files}"), 3, "data -> name", None),
    # The data checks a trial runs before it writes, run at parse time (fnosweep.data.check_data).
    ("navier-stokes odd resolution",
     doc("data:", "  problem: navier-stokes", "  resolution: 9", "  t_final: 0.1"), 5,
     "data -> resolution", "even and at least 4, but got 9"),
    ("navier-stokes odd test resolution",
     doc("data: {problem: navier-stokes, test_resolutions: [8, 9], t_final: 0.1}"), 3,
     "data -> test_resolutions", "but got 9"),
    ("t_final not a multiple of dt",
     doc("data:", "  problem: navier-stokes", "  t_final: 1", "  dt: 0.3"), 6, "data -> dt",
     "t_final=1 must be a multiple of dt=0.3"),
    ("unstable dt", doc("data:", "  problem: navier-stokes", "  resolution: 64", "  dt: 0.5"), 6,
     "data -> dt", "dt=0.5 is unstable at resolution 64"),
    ("searched odd resolution",
     doc("data: {problem: navier-stokes, t_final: 0.1}",
         search="search: {data.resolution: {type: categorical, choices: [8, 9]}}"), 2,
     "search -> data.resolution -> choices[1]", "but got 9"),
    ("searched int resolution of both parities",
     doc("data: {problem: navier-stokes, t_final: 0.1}",
         search="search: {data.resolution: {type: int, low: 8, high: 16}}"), 2,
     "search -> data.resolution -> step", "but got 9"),
    ("searched unstable dt",
     doc("data: {problem: navier-stokes, resolution: 64}",
         search="search: {data.dt: {type: categorical, choices: [0.01, 0.5]}}"), 2,
     "search -> data.dt -> choices[1]", "dt=0.5 is unstable"),
    ("searched dt range ends",
     doc("data: {problem: navier-stokes, t_final: 1}",
         search="search: {data.dt: {type: float, low: 0.01, high: 0.3}}"), 2,
     "search -> data.dt -> high", "multiple of dt=0.3"),
    ("n_modes for 2-D", doc("model: {n_modes: [12]}"), 3, "model -> n_modes", "[12]"),
    ("n_modes < 1", doc("model: {n_modes: [0, 12]}"), 3, "model -> n_modes[0]", "0"),
    ("unknown model key", doc("model: {width: 64}"), 3, "model -> width", None),
    ("bad FNO value", doc("model: {norm: batch}"), 3, "model -> norm", "'batch'"),
    ("unknown optimizer", doc("training: {optimizer: adamx}"), 3, "training -> optimizer",
     "'adamx'"),
    ("lr <= 0", doc("training:", "  epochs: 3", "  lr: 0.0"), 5, "training -> lr", "0.0"),
    ("lr < 0 as 1e-3 text", doc("training: {lr: -1e-3}"), 3, "training -> lr", "-0.001"),
    ("lr not a number", doc("training: {lr: fast}"), 3, "training -> lr", "'fast'"),
    ("lr a bool", doc("training: {lr: on}"), 3, "training -> lr", "True"),
    ("lr not finite", doc("training: {lr: .inf}"), 3, "training -> lr", "inf"),
    ("weight_decay < 0", doc("training: {weight_decay: -1}"), 3, "training -> weight_decay",
     "-1.0"),
    ("momentum 1", doc("training: {momentum: 1}"), 3, "training -> momentum", "1.0"),
    ("clip_threshold 0", doc("training: {clip_threshold: 0}"), 3, "training -> clip_threshold",
     "0.0"),
    ("unknown scheduler", doc("training: {scheduler: {type: linear}}"), 3,
     "training -> scheduler -> type", "'linear'"),
    ("step_size 0", doc("training: {scheduler: {step_size: 0}}"), 3,
     "training -> scheduler -> step_size", "0"),
    ("gamma > 1", doc("training: {scheduler: {gamma: 1.5}}"), 3, "training -> scheduler -> gamma",
     "1.5"),
    ("factor 1", doc("training: {scheduler: {factor: 1}}"), 3, "training -> scheduler -> factor",
     "1.0"),
    ("patience < 0", doc("training: {scheduler: {patience: -1}}"), 3,
     "training -> scheduler -> patience", "-1"),
    ("T_max 0", doc("training: {scheduler: {T_max: 0}}"), 3, "training -> scheduler -> T_max",
     "0"),
    ("batch_size 0", doc("training: {batch_size: 0}"), 3, "training -> batch_size", "0"),
    ("epochs < 1", doc("training: {epochs: 0}"), 3, "training -> epochs", "0"),
    ("unknown loss", doc("training: {loss: mse}"), 3, "training -> loss", "'mse'"),
    ("bad device", doc("training: {device: gpu}"), 3, "training -> device", "'gpu'"),
    ("unknown precision", doc("training: {precision: fp16}"), 3, "training -> precision", "'fp16'"),
    ("quoted yes for a bool", doc("training: {skip_nonfinite: 'yes'}"), 3,
     "training -> skip_nonfinite", "'yes'"),
    ("empty search", doc(search="search: {}"), 2, "search", None),
    ("no search", STUDY + "\n", 1, "search", None),
    ("search key names no field", doc(search="search: {training.lrr: {type: float, low: 1, "
                                      "high: 2}}"), 2, "search -> training.lrr", None),
    ("search on study", doc(search="search: {study.n_trials: {type: int, low: 1, high: 2}}"), 2,
     "search -> study.n_trials", None),
    ("search on execution", doc(search="search:\n  execution.retries: {type: int, low: 0, "
                                "high: 2}"), 3, "search -> execution.retries", None),
    ("search param not a mapping", doc(search="search: {training.lr: 0.1}"), 2, S, "0.1"),
    ("search type missing", doc(search="search: {training.lr: {low: 1, high: 2}}"), 2,
     f"{S} -> type", None),
    ("unknown search type", doc(search="search: {training.lr: {type: uniform}}"), 2,
     f"{S} -> type", "'uniform'"),
    ("unknown search attr", doc(search="search: {training.lr: {type: float, low: 1, high: 2, "
                                "choices: [1]}}"), 2, f"{S} -> choices", None),
    ("low > high", doc(search="search:\n  training.lr:\n    type: float\n    low: 0.1\n"
                       "    high: 0.01"), 5, f"{S} -> low", "0.1"),
    ("log with low <= 0", doc(search="search: {training.weight_decay: {type: float, low: 0, "
                              "high: 0.1, log: true}}"), 2,
     "search -> training.weight_decay -> low", "0.0"),
    ("step with log", doc(search="search: {training.lr: {type: float, low: 0.1, high: 0.5, "
                          "log: true, step: 0.1}}"), 2, f"{S} -> step", "0.1"),
    ("step not dividing the range", doc(search="search: {model.hidden_channels: {type: int, "
                                        "low: 16, high: 60, step: 16}}"), 2,
     "search -> model.hidden_channels -> high", "60"),
    ("a bound the field refuses", doc(search="search:\n  training.lr: {type: float, low: 0, "
                                      "high: 0.1}"), 3, f"{S} -> low", "0.0"),
    ("an int bound the field refuses", doc(search="search: {training.batch_size: {type: int, "
                                           "low: 0, high: 8}}"), 2,
     "search -> training.batch_size -> low", "0"),
    ("a choice the field refuses", doc(search="search:\n  training.scheduler.type:\n"
                                       "    type: categorical\n    choices:\n      - step\n"
                                       "      - linear"), 7,
     "search -> training.scheduler.type -> choices[1]", "'linear'"),
    ("empty choices", doc(search="search: {training.batch_size: {type: categorical, "
                          "choices: []}}"), 2, "search -> training.batch_size -> choices", "[]"),
    ("repeated choice", doc(search="search: {training.batch_size: {type: categorical, "
                            "choices: [8, 8.0]}}"), 2,
     "search -> training.batch_size -> choices[1]", "8.0"),
    ("list choice", doc(search="search: {model.n_modes: {type: categorical, choices: "
                        "[[8, 8]]}}"), 2, "search -> model.n_modes -> choices[0]", "[8, 8]"),
    ("float search on an int field", doc(search="search: {training.batch_size: {type: float, "
                                         "low: 8, high: 32}}"), 2,
     "search -> training.batch_size -> type", "'float'"),
    ("int search on a float field", doc(search="search: {training.lr: {type: int, low: 1, "
                                        "high: 2}}"), 2, f"{S} -> type", "'int'"),
    ("when on a parameter not searched",
     doc(search="search: {training.lr: {type: float, low: 0.1, high: 1, "
         "when: {training.optimizer: sgd}}}"), 2, f"{S} -> when -> training.optimizer", None),
    ("when on itself", doc(search="search: {training.batch_size: {type: categorical, choices: "
                           "[8], when: {training.batch_size: 8}}}"), 2,
     "search -> training.batch_size -> when -> training.batch_size", None),
    ("when value not a choice", doc(search="""search:
  training.scheduler.type: {type: categorical, choices: [step, cosine]}
  training.scheduler.step_size:
    type: int
    low: 5
    high: 20
    when: {training.scheduler.type: plateau}"""), 8,
     "search -> training.scheduler.step_size -> when -> training.scheduler.type", "'plateau'"),
    ("when on a float parameter", doc(search="""search:
  training.lr: {type: float, low: 0.1, high: 1}
  training.batch_size: {type: categorical, choices: [8], when: {training.lr: 0.5}}"""), 4,
     "search -> training.batch_size -> when -> training.lr", None),
    ("when cycle", doc(search="""search:
  training.optimizer: {type: categorical, choices: [sgd, adam], when: {training.loss: h1}}
  training.loss: {type: categorical, choices: [h1, l2], when: {training.optimizer: sgd}}"""), 3,
     "search -> training.optimizer -> when", None),
    ("unknown verdict", doc("stability: {prune_on: [diverged, exploded]}"), 3,
     "stability -> prune_on[1]", "'exploded'"),
    ("healthy is no reason to prune", doc("stability: {prune_on: [healthy]}"), 3,
     "stability -> prune_on[0]", "'healthy'"),
    ("unknown stability key", doc("stability: {explode: 3}"), 3, "stability -> explode", None),
    ("threshold not a number", doc("stability: {explode_growth: big}"), 3,
     "stability -> explode_growth", "'big'"),
    ("unknown backend", doc("execution: {backend: dask}"), 3, "execution -> backend", "'dask'"),
    ("max_concurrent 0", doc("execution: {max_concurrent: 0}"), 3, "execution -> max_concurrent",
     "0"),
    ("cpu 0", doc("execution: {resources: {cpu: 0}}"), 3, "execution -> resources -> cpu", "0.0"),
    ("gpu < 0", doc("execution: {resources: {gpu: -0.5}}"), 3, "execution -> resources -> gpu",
     "-0.5"),
    ("unknown resource", doc("execution: {resources: {tpu: 1}}"), 3,
     "execution -> resources -> tpu", None),
    ("retries < 0", doc("execution: {retries: -1}"), 3, "execution -> retries", "-1"),
    ("timeout 0", doc("execution: {trial_timeout_s: 0}"), 3, "execution -> trial_timeout_s",
     "0.0"),
]


@pytest.mark.parametrize(("text", "line", "path", "value"), [r[1:] for r in BAD],
                         ids=[r[0] for r in BAD])
def test_bad_specs_name_line_path_and_value(tmp_path, text, line, path, value):
    message = refused(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'x.yaml'}:{line}: {path}: "), message
    if value is not None:
        assert value in message, message


@pytest.mark.parametrize(("payload", "path", "message"), [
    (None, "data -> root", "mine_train_16.pt does not exist"),
    ({"a": 1}, "data -> root", "expected a dict with keys 'x' and 'y', but got ['a']"),
    ({"x": (4, 8, 8), "y": (4, 8, 8)}, "data -> resolution",
     "expected fields on a 16×16 grid, but got x (4, 1, 8, 8)"),
    ({"x": (2, 16, 16), "y": (2, 16, 16)}, "data -> n_train",
     "expected at least 4 samples, but the file has 2"),
])
def test_bad_user_files_are_refused_before_anything_is_written(tmp_path, payload, path, message):
    """The spec parses (a spec submitted to a cluster names files that may be there only);
    the driver checks the files where it runs, before it writes anything."""
    import torch

    from fnosweep.executor import InlineExecutor
    from fnosweep.sweep.driver import run_sweep
    from fnosweep.testing import synthetic_trial

    if payload is not None:
        payload = {k: torch.zeros(v) if isinstance(v, tuple) else v for k, v in payload.items()}
        for split in ("train", "test"):
            torch.save(payload, tmp_path / f"mine_{split}_16.pt")
    text = doc("data:", "  problem: files", f"  root: '{tmp_path}'", "  name: mine",
               "  resolution: 16", "  n_train: 4", "  n_test: 2",
               study=f"study: {{name: t, n_trials: 2, storage: 'sqlite:///{tmp_path}/s.db'}}")
    spec = load_spec(write(tmp_path, text))
    before = sorted(tmp_path.iterdir())
    with pytest.raises(SpecError) as info:
        run_sweep(spec, executor=InlineExecutor(synthetic_trial))
    got = str(info.value)
    assert got.startswith(f"{tmp_path / 'x.yaml'}: {path}: ") and message in got, got
    assert "\n" not in got
    assert sorted(tmp_path.iterdir()) == before  # no database, no data


def test_messages_list_what_is_expected(tmp_path):
    message = refused(tmp_path, doc(study="study:\n  name: t\n  n_trials: 2\n"
                                    "  pruner: {type: medain}"))
    assert message.endswith(
        "x.yaml:4: study -> pruner -> type: must be one of median, percentile, hyperband, "
        "successive_halving, threshold, patient, wilcoxon, curve, none, but got 'medain'")
    assert refused(tmp_path, doc("training: {lr: 0}")).endswith(
        "x.yaml:3: training -> lr: must be > 0, but got 0.0")
    unknown = refused(tmp_path, doc("training: {lr: 0.1, epoch: 3}"))
    assert "unknown key (did you mean epochs?), expected one of batch_size, clip_thr" in unknown


def test_a_quoted_hint_for_yaml_booleans(tmp_path):
    assert "quote it" in refused(tmp_path, doc(study="study: {name: no, n_trials: 2}"))
    assert "quote it" in refused(tmp_path, doc("training: {device: off}"))


# -------------------------------------------------------------------------- file problems


def test_a_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.yaml: no such file$"):
        load_spec(tmp_path / "nope.yaml")


def test_a_directory(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file(tmp_path, text):
    assert "x.yaml: the file is empty" in refused(tmp_path, text)


def test_a_yaml_syntax_error_names_its_line(tmp_path):
    message = refused(tmp_path, doc("training: {lr: 0.1", "data: {}"))
    assert message.startswith(f"{tmp_path / 'x.yaml'}:4: invalid YAML:"), message


def test_duplicate_keys_name_both_lines(tmp_path):
    message = refused(tmp_path, doc("training:", "  lr: 0.1", "  epochs: 3", "  lr: 0.2"))
    assert message.startswith(f"{tmp_path / 'x.yaml'}:6: training -> lr: duplicate key "
                              "(first at line 4)"), message


def test_tabs_for_indentation_are_named_plainly(tmp_path):
    message = refused(tmp_path, doc("training:", "\tlr: 0.1"))
    assert message.startswith(f"{tmp_path / 'x.yaml'}:4: a tab is used for indentation"), message


@pytest.mark.parametrize(("text", "shown"), [("- study\n- search\n", "['study', 'search']"),
                                             ("just words\n", "'just words'")])
def test_a_top_level_list_or_scalar(tmp_path, text, shown):
    message = refused(tmp_path, text)
    assert "x.yaml:1: (top level): a spec must be a mapping of sections" in message
    assert shown in message


def test_unsafe_tags_are_refused(tmp_path):
    message = refused(tmp_path, doc("training: {lr: !!python/object:os.system x}"))
    assert "x.yaml:3: training -> lr: cannot read this value" in message


def test_a_self_referencing_alias_is_refused(tmp_path):
    assert "alias refers to itself" in refused(tmp_path, doc("data: &a {extra: *a}"))


# ------------------------------------------------------------------------------ overrides


def test_overrides_set_fields_and_search_attributes(tmp_path):
    path = write(tmp_path, DESIGN_EXAMPLE)
    spec = load_spec(path, ["training.epochs=3", "training.lr=1e-2", "study.n_trials=5",
                            "search.training.lr.high=0.01",
                            "search.training.scheduler.step_size.low=2",
                            "search.training.scheduler.step_size.when.training.scheduler.type"
                            "=[step, plateau]",
                            "data.test_resolutions=[32, 64, 128]"])
    by_key = {p.key: p for p in spec.search}
    assert spec.training.epochs == 3 and spec.training.lr == 0.01 and spec.study.n_trials == 5
    assert by_key["training.lr"].high == 0.01
    assert by_key["training.scheduler.step_size"].low == 2
    assert by_key["training.scheduler.step_size"].when == {
        "training.scheduler.type": ("step", "plateau")}
    assert spec.data.test_resolutions == (32, 64, 128)


def test_overrides_can_add_a_search_parameter(tmp_path):
    spec = load_spec(write(tmp_path, doc()), ["search.model.n_layers.type=int",
                                              "search.model.n_layers.low=2",
                                              "search.model.n_layers.high=6"])
    assert spec.search[-1].key == "model.n_layers" and (spec.search[-1].low,
                                                        spec.search[-1].high) == (2, 6)


@pytest.mark.parametrize(("override", "expected"), [
    ("training.epoch=3", "--set training.epoch=3: training -> epoch: unknown key (did you mean "
     "epochs?), expected one of batch_size"),
    ("training.lr=0", "--set training.lr=0: training -> lr: must be > 0, but got 0.0"),
    ("search.training.lr.low=1", "--set search.training.lr.low=1: search -> training.lr -> low: "
     "must be <= high (0.1), but got 1.0"),
    ("training.scheduler.kind.x=1", "--set training.scheduler.kind.x=1: training -> scheduler -> "
     "kind: unknown key"),
    ("training.lr.x=1", "--set training.lr.x=1: training -> lr: is not a mapping"),
    ("training.lr", "--set training.lr: expected dotted.key=value"),
    ("training..lr=1", "--set training..lr=1: expected dotted.key=value"),
    ("training.lr=[1", "--set training.lr=[1: the value is not valid YAML"),
    ("study.name=no", "--set study.name=no: study -> name: must be a name"),
])
def test_bad_overrides_name_the_override(tmp_path, override, expected):
    message = refused(tmp_path, doc("training: {lr: 0.1}"), (override,))
    assert message.startswith(expected), message


def test_an_error_in_the_file_still_names_its_line_with_overrides(tmp_path):
    message = refused(tmp_path, doc("training: {epochs: 0}"), ("training.lr=0.5",))
    assert message.startswith(f"{tmp_path / 'x.yaml'}:3: training -> epochs: must be >= 1")


# ------------------------------------------------------------------------ storage and API


def test_storage_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FNOSWEEP_STORAGE", "postgresql+psycopg://u:secret@db/sweeps")
    spec = load_spec(write(tmp_path, doc(study="study: {name: t, n_trials: 2, "
                                         "storage: '${FNOSWEEP_STORAGE}'}")))
    assert spec.study.storage == "postgresql+psycopg://u:secret@db/sweeps"


def test_to_dict_keeps_the_variable_not_the_password(tmp_path, monkeypatch):
    monkeypatch.setenv("FNOSWEEP_STORAGE", "postgresql+psycopg://u:secret@db/sweeps")
    spec = load_spec(write(tmp_path, doc(study="study: {name: t, n_trials: 2, "
                                         "storage: '${FNOSWEEP_STORAGE}'}")))
    plain = spec.to_dict()
    assert plain["study"]["storage"] == "${FNOSWEEP_STORAGE}"
    assert "secret" not in json.dumps(plain) and "secret" not in repr(spec.study)
    assert parse_spec(plain, source=spec.source) == spec


def test_a_missing_storage_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("FNOSWEEP_STORAGE", raising=False)
    message = refused(tmp_path, doc(study="study: {name: t, n_trials: 2, "
                                    "storage: '${FNOSWEEP_STORAGE}'}"))
    assert "study -> storage: environment variable FNOSWEEP_STORAGE is not set" in message


def test_parse_spec_without_lines_names_the_source():
    with pytest.raises(SpecError, match=r"^<spec>: training -> lr: must be > 0, but got -1.0$"):
        parse_spec({"study": {"name": "t", "n_trials": 1}, "training": {"lr": -1},
                    "search": {"training.lr": {"type": "float", "low": 0.1, "high": 1}}})


def test_check_value_checks_like_the_spec():
    assert check_value("training.lr", "1e-3") == 0.001
    assert check_value("training.scheduler.step_size", 5.0) == 5
    with pytest.raises(SpecError, match="training.lr: must be > 0, but got 0.0"):
        check_value("training.lr", 0)
    with pytest.raises(SpecError, match="names no field"):
        check_value("training.lrr", 0.1)


def test_fno_args_are_arguments_of_neuralops_fno():
    found = importlib.util.find_spec("neuralop")  # locates the package without importing it
    if found is None or not found.submodule_search_locations:
        pytest.skip("neuralop is not installed")
    source = Path(next(iter(found.submodule_search_locations))) / "models" / "fno.py"
    tree = ast.parse(source.read_text())
    fno = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "FNO")
    init = next(n for n in fno.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    names = {a.arg for a in init.args.args + init.args.kwonlyargs}
    assert set(FNO_ARGS) | {"n_modes", "hidden_channels", "n_layers"} <= names
    assert names - set(FNO_ARGS) == {"self", "n_modes", "hidden_channels", "n_layers",
                                     "in_channels", "out_channels", "non_linearity",
                                     "conv_module"}


def test_the_spec_module_stays_light():
    code = ("import sys, fnosweep.spec; heavy = {'torch', 'ray', 'neuralop', 'optuna'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(Path(__file__).parents[1] / "src")}, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- properties

FRAGMENTS = [
    "study:", "  name: t", "  n_trials: 2", "search:", "data:", "training:", "model:",
    "  training.lr: {type: float, low: 1e-5, high: 0.1, log: true}", "  lr: 1e-3", "  lr: no",
    "  epochs: 0", "\tlr: 1", "- a", "  - 1", "key: value", "&a {x: 1}", "*a", "<<: *a", "[",
    "{", "'", '"', "!!float x", "!!binary x", "? complex", ": ", "---", "...", "%YAML 1.1",
    "  when: {training.lr: 1}", "  choices: [null, 1, yes]", "n_modes: [12, 12]", "~", "2020-01-01",
]
yamlish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=12)
_TMP = Path(tempfile.mkdtemp(prefix="fnosweep-spec-"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yamlish)
def test_any_text_gives_a_spec_or_a_spec_error(parts):
    path = _TMP / "h.yaml"
    path.write_text("\n".join(parts), encoding="utf-8", errors="surrogatepass")
    try:
        assert isinstance(load_spec(path), SweepSpec)
    except SpecError as e:
        assert "\n" not in str(e)


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                    st.sampled_from(["1e-3", "tpe", "median", "step", "eval.32_l2", "darcy"]))
keys = st.one_of(st.sampled_from(["study", "name", "n_trials", "search", "training", "lr", "type",
                                  "low", "high", "choices", "when", "training.lr", "data",
                                  "model", "pruner", "sampler", "scheduler", "training.epochs"]),
                 st.text(max_size=6))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=12)
DESIGN_DOC = yaml.safe_load(DESIGN_EXAMPLE)


def _key_paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(node, dict):
        return []
    return [p for k, v in node.items() for p in [(*prefix, k), *_key_paths(v, (*prefix, k))]]


def _mutated(edits: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    """The design example with some of its values replaced: reaches the deep checks."""
    document = copy.deepcopy(DESIGN_DOC)
    for path, value in edits:
        node = document
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[path[-1]] = value
    return document


mutated = st.lists(st.tuples(st.sampled_from(_key_paths(DESIGN_DOC)), values), min_size=1,
                   max_size=3).map(_mutated)


@settings(max_examples=200, deadline=None)
@given(st.one_of(values, mutated))
def test_any_document_gives_a_spec_or_a_spec_error(document):
    try:
        assert isinstance(parse_spec(document), SweepSpec)
    except SpecError as e:
        assert "\n" not in str(e)


override_texts = st.one_of(
    st.text(max_size=30),
    st.builds("{}={}".format,
              st.sampled_from(["training.lr", "search.training.lr.low", "search.x.y",
                               "study", "search", "search.training.lr.when.training.loss",
                               "training.scheduler", "model.n_modes", "a.b.c"]),
              st.sampled_from(["1e-3", "", "[1, 2]", "{type: int}", "no", "null", "[", "!!float x",
                               "${X}", "0"])))


@settings(max_examples=60, deadline=None)
@given(st.lists(override_texts, max_size=3))
def test_any_overrides_give_a_spec_or_a_spec_error(overrides):
    path = _TMP / "o.yaml"
    path.write_text(DESIGN_EXAMPLE)
    try:
        assert isinstance(load_spec(path, overrides), SweepSpec)
    except SpecError as e:
        assert "\n" not in str(e)


def test_precision_is_written_only_when_not_the_default_and_a_change_defines_a_trial():
    """A study stored before `training.precision` existed resumes (fp32 writes nothing);
    switching a study to bf16 changes what its trials are, so a resume refuses it."""
    from fnosweep.sweep.resume import spec_changes

    fp32 = parse_spec(yaml.safe_load(doc()))
    bf16 = parse_spec(yaml.safe_load(doc("training: {precision: bf16}")))
    assert "precision" not in fp32.to_dict()["training"] and bf16.to_dict()["training"]["precision"] == "bf16"
    assert parse_spec(bf16.to_dict()) == bf16
    assert spec_changes(fp32.to_dict(), bf16.to_dict())[0] == ["training.precision: null -> bf16"]
