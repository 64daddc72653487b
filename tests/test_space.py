"""The search space on a real (in-memory) Optuna study: distributions, conditional
suggestions, trial configs, fingerprints, samplers and pruners."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import pickle
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from fnosweep import space
from fnosweep.errors import SpecError
from fnosweep.pruners import CurvePruner
from fnosweep.spec import PRUNERS, SAMPLERS, PrunerSpec, SamplerSpec, SweepSpec, parse_spec

optuna.logging.set_verbosity(optuna.logging.WARNING)

SEARCH: dict[str, Any] = {
    "training.lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "training.clip_threshold": {"type": "categorical", "choices": [None, 0.5, 1.0, 10.0]},
    # listed before its parent on purpose: suggest must order it after
    "training.scheduler.step_size": {"type": "int", "low": 5, "high": 20,
                                     "when": {"training.scheduler.type": "step"}},
    "training.scheduler.type": {"type": "categorical", "choices": ["step", "cosine", "plateau"]},
    "training.batch_size": {"type": "categorical", "choices": [8, 16, 32]},
    "model.hidden_channels": {"type": "int", "low": 16, "high": 64, "step": 16},
    "training.weight_decay": {"type": "float", "low": 0.0, "high": 0.01, "step": 0.001},
}


def make(search: dict[str, Any] | None = None, **sections: Any) -> SweepSpec:
    document = {"study": {"name": "s", "n_trials": 10, **sections.pop("study", {})},
                "search": json.loads(json.dumps(search or SEARCH)), **sections}
    return parse_spec(document)


def test_distributions_honour_log_step_and_none():
    dists = space.distributions(make())
    assert dists["training.lr"] == FloatDistribution(1e-5, 1e-1, log=True)
    assert dists["training.clip_threshold"] == CategoricalDistribution([None, 0.5, 1.0, 10.0])
    assert dists["training.scheduler.step_size"] == IntDistribution(5, 20)
    assert dists["model.hidden_channels"] == IntDistribution(16, 64, step=16)
    assert dists["training.weight_decay"] == FloatDistribution(0.0, 0.01, step=0.001)
    assert list(dists) == list(SEARCH)


def test_conditional_parameters_follow_their_parent_on_a_real_study():
    spec = make()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_step = seen_other = seen_none = False
    for _ in range(40):
        trial = study.ask()
        params = space.sample_params(trial, spec)
        is_step = params["training.scheduler.type"] == "step"
        assert ("training.scheduler.step_size" in params) == is_step
        assert trial.params == params
        seen_step, seen_other = seen_step or is_step, seen_other or not is_step
        seen_none = seen_none or params["training.clip_threshold"] is None
        study.tell(trial, params["training.lr"])
    assert seen_step and seen_other and seen_none
    assert len(study.trials) == 40 and all(t.state.name == "COMPLETE" for t in study.trials)


def test_a_chain_of_conditions_with_tpe():
    spec = make({
        "training.scheduler.gamma": {"type": "float", "low": 0.1, "high": 0.9,
                                     "when": {"training.scheduler.step_size": [5, 10]}},
        "training.scheduler.step_size": {"type": "categorical", "choices": [5, 10, 20],
                                         "when": {"training.scheduler.type": ["step"]}},
        "training.scheduler.type": {"type": "categorical", "choices": ["step", "cosine"]},
    })
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1, n_startup_trials=5))
    for _ in range(30):
        trial = study.ask()
        params = space.sample_params(trial, spec)
        step = params.get("training.scheduler.step_size")
        assert ("training.scheduler.step_size" in params) == (
            params["training.scheduler.type"] == "step")
        assert ("training.scheduler.gamma" in params) == (step in (5, 10))
        study.tell(trial, 1.0 if step is None else float(step))


def test_trial_config_applies_params_by_dotted_key():
    spec = make(training={"epochs": 7}, model={"rank": 0.5})
    params = {"training.lr": "1e-3", "training.scheduler.type": "step",
              "training.scheduler.step_size": 5, "model.hidden_channels": 48,
              "model.rank": 0.25, "training.clip_threshold": None, "data.n_train": 64}
    config = space.trial_config(spec, params, trial_number=3, attempt=1)
    assert (config.study_name, config.trial_number, config.attempt) == ("s", 3, 1)
    assert config.training.lr == 0.001 and config.params["training.lr"] == 0.001
    assert config.training.scheduler.type == "step" and config.training.scheduler.step_size == 5
    assert config.training.scheduler.T_max == 7  # null means the trial's epochs
    assert config.model.hidden_channels == 48 and config.model.extra == {"rank": 0.25}
    assert config.training.clip_threshold is None and config.data.n_train == 64
    assert config.metric == "eval.32_l2" and spec.training.lr == 0.001  # the spec is unchanged
    assert pickle.loads(pickle.dumps(config)) == config  # it crosses the Ray boundary


def test_trial_config_resolves_t_max_from_searched_epochs_and_keeps_a_given_one():
    spec = make({"training.epochs": {"type": "int", "low": 2, "high": 9}})
    config = space.trial_config(spec, {"training.epochs": 4}, trial_number=0)
    assert config.training.scheduler.T_max == 4
    fixed = make({"training.epochs": {"type": "int", "low": 2, "high": 9}},
                 training={"scheduler": {"T_max": 30}})
    assert space.trial_config(fixed, {"training.epochs": 4},
                              trial_number=0).training.scheduler.T_max == 30


@pytest.mark.parametrize(("params", "match"), [
    ({"training.lrr": 0.1}, "training.lrr: names no field"),
    ({"training.lr": -1}, "training.lr: must be > 0, but got -1.0"),
])
def test_trial_config_refuses_params_the_spec_would_refuse(params, match):
    with pytest.raises(SpecError, match=match):
        space.trial_config(make(), params, trial_number=0)


def test_fingerprint_is_stable_and_ignores_what_is_not_the_space():
    base = space.fingerprint(make())
    assert len(base) == 16 and int(base, 16) >= 0
    assert space.fingerprint(make()) == base
    assert space.fingerprint(make(dict(reversed(list(SEARCH.items()))))) == base  # order
    assert space.fingerprint(make(study={"n_trials": 99, "pruner": {"type": "none"}},
                                  execution={"max_concurrent": 8},
                                  stability={"prune_on": []},
                                  training={"epochs": 3})) == base


def _changed(key: str, **attrs: Any) -> dict[str, Any]:
    search = json.loads(json.dumps(SEARCH))
    search[key].update(attrs)
    return search


@pytest.mark.parametrize("search", [
    _changed("training.lr", high=0.2),
    _changed("training.lr", low=1e-6),
    _changed("training.lr", log=False),
    _changed("model.hidden_channels", step=8),
    _changed("training.batch_size", choices=[8, 16]),
    _changed("training.clip_threshold", choices=[0.5, 1.0, 10.0, None]),
    _changed("training.scheduler.step_size", when={"training.scheduler.type": ["step", "plateau"]}),
    {**SEARCH, "training.scheduler.step_size": {"type": "categorical", "choices": [5, 20],
                                                "when": {"training.scheduler.type": "step"}}},
    {**SEARCH, "model.n_layers": {"type": "int", "low": 2, "high": 6}},
    {k: v for k, v in SEARCH.items() if k != "training.batch_size"},
], ids=["high", "low", "log", "step", "choices", "choice order", "when", "type", "added",
        "removed"])
def test_any_change_of_the_space_changes_the_fingerprint(search):
    assert space.fingerprint(make(search)) != space.fingerprint(make())


def test_space_summary_is_json_and_names_every_attribute():
    summary = space.space_summary(make())
    assert json.loads(json.dumps(summary)) == summary
    assert summary["params"]["training.scheduler.step_size"] == {
        "type": "int", "low": 5, "high": 20, "log": False, "step": 1, "choices": None,
        "when": {"training.scheduler.type": ["step"]}}


def test_describe_rows():
    assert space.describe(make()) == [
        ("training.lr", "float in [1e-05, 0.1], log"),
        ("training.clip_threshold", "one of [None, 0.5, 1.0, 10.0]"),
        ("training.scheduler.step_size", "int in [5, 20] when training.scheduler.type = step"),
        ("training.scheduler.type", "one of [step, cosine, plateau]"),
        ("training.batch_size", "one of [8, 16, 32]"),
        ("model.hidden_channels", "int in [16, 64], step 16"),
        ("training.weight_decay", "float in [0.0, 0.01], step 0.001"),
    ]


# ------------------------------------------------------------------- samplers and pruners

EXCLUDED = {"seed", "gamma", "weights", "constraints_func", "independent_sampler",
            "source_trials"}
"""Constructor arguments that take Python objects: a YAML spec cannot give them."""


@pytest.mark.parametrize("kind", list(SAMPLERS))
def test_the_static_sampler_table_matches_optuna(kind):
    name, allowed = SAMPLERS[kind]
    signature = inspect.signature(getattr(optuna.samplers, name)).parameters
    assert set(allowed) == set(signature) - EXCLUDED


@pytest.mark.parametrize("kind", list(PRUNERS))
def test_the_static_pruner_table_matches_optuna(kind):
    _, allowed, required = PRUNERS[kind]
    signature = inspect.signature(space.pruner_class(kind)).parameters
    assert set(allowed) == set(signature)
    assert set(required) == {n for n, p in signature.items() if p.default is inspect.Parameter.empty
                             and n not in ("wrapped_pruner", "or_pruner")}


@pytest.mark.parametrize(("sampler", "cls"), [
    ({}, optuna.samplers.TPESampler),
    ({"type": "tpe", "seed": 1, "n_startup_trials": 3, "multivariate": True},
     optuna.samplers.TPESampler),
    ({"type": "random", "seed": 2}, optuna.samplers.RandomSampler),
    ({"type": "qmc", "seed": 2, "scramble": True}, optuna.samplers.QMCSampler),
    ({"type": "gp", "seed": 2}, optuna.samplers.GPSampler),
])
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_build_sampler(sampler, cls):
    if sampler.get("type") == "gp" and importlib.util.find_spec("torch") is None:
        pytest.skip("GPSampler needs torch")
    assert type(space.build_sampler(make(study={"sampler": sampler}))) is cls


def test_a_seeded_sampler_repeats_itself():
    spec = make(study={"sampler": {"type": "tpe", "seed": 7}})
    runs = []
    for _ in range(2):
        study = optuna.create_study(sampler=space.build_sampler(spec))
        trial = study.ask()
        runs.append(space.sample_params(trial, spec))
    assert runs[0] == runs[1]


def test_cmaes_needs_its_package():
    spec = make(study={"sampler": {"type": "cmaes", "sigma0": 0.5}})
    if importlib.util.find_spec("cmaes") is None:
        with pytest.raises(SpecError, match="needs the Python package cmaes"):
            space.build_sampler(spec)
    else:
        assert isinstance(space.build_sampler(spec), optuna.samplers.CmaEsSampler)


@pytest.mark.parametrize(("pruner", "cls"), [
    ({}, optuna.pruners.MedianPruner),
    ({"type": "none"}, optuna.pruners.NopPruner),
    ({"type": "percentile", "percentile": 25.0, "n_warmup_steps": 2},
     optuna.pruners.PercentilePruner),
    ({"type": "hyperband", "min_resource": 1, "max_resource": 20, "reduction_factor": 3},
     optuna.pruners.HyperbandPruner),
    ({"type": "successive_halving"}, optuna.pruners.SuccessiveHalvingPruner),
    ({"type": "threshold", "upper": 1e3}, optuna.pruners.ThresholdPruner),
    ({"type": "wilcoxon", "p_threshold": 0.05}, optuna.pruners.WilcoxonPruner),
])
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_build_pruner(pruner, cls):
    assert type(space.build_pruner(make(study={"pruner": pruner}))) is cls


def test_a_curve_pruner_projects_to_the_last_epoch_and_may_add_a_median_pruner():
    spec = make(study={"pruner": {"type": "curve", "or_pruner": {"type": "median"}}})
    pruner = space.build_pruner(spec)
    assert isinstance(pruner, CurvePruner) and pruner._max_resource == spec.training.epochs - 1
    assert isinstance(pruner._or_pruner, optuna.pruners.MedianPruner)
    searched = make({"training.epochs": {"type": "int", "low": 5, "high": 20}},
                    study={"pruner": {"type": "curve"}})
    assert space.build_pruner(searched)._max_resource == "auto"


def test_a_patient_pruner_wraps_the_pruner_it_names():
    spec = make(study={"pruner": {"type": "patient", "patience": 2,
                                  "wrapped_pruner": {"type": "percentile", "percentile": 30}}})
    with pytest.warns(optuna.exceptions.ExperimentalWarning):
        pruner = space.build_pruner(spec)
    assert isinstance(pruner, optuna.pruners.PatientPruner)
    assert isinstance(pruner._wrapped_pruner, optuna.pruners.PercentilePruner)


def _with(spec: SweepSpec, *, sampler: SamplerSpec | None = None,
          pruner: PrunerSpec | None = None) -> SweepSpec:
    study = dataclasses.replace(spec.study, sampler=sampler or spec.study.sampler,
                                pruner=pruner or spec.study.pruner)
    return dataclasses.replace(spec, study=study)


def test_unknown_sampler_and_pruner_args_are_refused_by_name():
    spec = make()
    with pytest.raises(SpecError, match=r"study -> sampler -> bogus: not an argument of "
                                        r"optuna.samplers.TPESampler \(arguments: "):
        space.build_sampler(_with(spec, sampler=SamplerSpec(args={"bogus": 1})))
    with pytest.raises(SpecError, match="study -> pruner -> bogus: not an argument of "
                                        "optuna.pruners.MedianPruner"):
        space.build_pruner(_with(spec, pruner=PrunerSpec(args={"bogus": 1})))


def test_values_optuna_refuses_are_spec_errors():
    spec = make(study={"pruner": {"type": "percentile", "percentile": 120}})
    with pytest.raises(SpecError, match=r"study -> pruner: PercentilePruner\(percentile=120\) "
                                        r"refused: .*but got percentile=120"):
        space.build_pruner(spec)
    bad_type = _with(make(), pruner=PrunerSpec(args={"n_startup_trials": "many"}))
    with pytest.raises(SpecError, match="study -> pruner: MedianPruner"):
        space.build_pruner(bad_type)


def test_load_spec_refuses_what_optuna_refuses_with_the_line(tmp_path):
    from fnosweep.space import load_spec

    path = tmp_path / "s.yaml"
    path.write_text("study:\n  name: s\n  n_trials: 2\n  pruner:\n    type: percentile\n"
                    "    percentile: 120\n"
                    "search: {training.lr: {type: float, low: 0.1, high: 1}}\n")
    with pytest.raises(SpecError, match=rf"^{path}:4: study -> pruner: PercentilePruner"):
        load_spec(path)
