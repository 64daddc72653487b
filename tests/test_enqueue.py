"""`study.enqueue`: parsed against the search space (key path and line on every refusal),
written back by `to_dict`, and enqueued by the driver only into a new study."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

from fnosweep.errors import SpecError
from fnosweep.executor import InlineExecutor
from fnosweep.space import load_spec
from fnosweep.spec import parse_spec
from fnosweep.sweep.driver import run_sweep
from fnosweep.sweep.enqueue import enqueue_first
from fnosweep.testing import synthetic_trial
from sweep_builders import REPO, tiny_doc

SEARCH = {
    "training.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "training.clip_threshold": {"type": "categorical", "choices": [None, 1.0, 10.0]},
    "training.scheduler.type": {"type": "categorical", "choices": ["step", "cosine"]},
    "training.scheduler.step_size": {"type": "int", "low": 2, "high": 8, "step": 2,
                                     "when": {"training.scheduler.type": ["step"]}},
}


def spec_file(tmp_path: Path, enqueue: object) -> Path:
    doc = tiny_doc(tmp_path, search=SEARCH)
    doc["study"]["enqueue"] = enqueue
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_entries_parse_to_the_searched_values_and_round_trip(tmp_path: Path) -> None:
    first = {"training.lr": 1e-4, "training.clip_threshold": 10, "training.scheduler.type": "step",
             "training.scheduler.step_size": 4}
    spec = load_spec(spec_file(tmp_path, [first, {"training.clip_threshold": None}]))
    assert [dict(e) for e in spec.study.enqueue] == [{**first, "training.clip_threshold": 10.0},
                                                      {"training.clip_threshold": None}]
    assert type(spec.study.enqueue[0]["training.clip_threshold"]) is float  # the choice's own value
    assert parse_spec(spec.to_dict(), source=spec.source) == spec


@pytest.mark.parametrize(("enqueue", "path", "message"), [
    ({"training.lr": 1e-3}, "study -> enqueue", "must be a list of mappings"),
    ([[1e-3]], "study -> enqueue[0]", "must be a mapping"),
    ([{}], "study -> enqueue[0]", "names no parameter"),
    ([{"training.epochs": 3}], "study -> enqueue[0] -> training.epochs", "is not a searched parameter"),
    ([{"training.lr": 0.5}], "study -> enqueue[0] -> training.lr", "must lie in the searched range"),
    ([{"training.lr": "fast"}], "study -> enqueue[0] -> training.lr", "but got 'fast'"),
    ([{"training.clip_threshold": 0.5}], "study -> enqueue[0] -> training.clip_threshold",
     "must be one of the choices of the search (null, 1.0, 10.0), but got 0.5"),
    ([{"training.scheduler.type": "step", "training.scheduler.step_size": 3}],
     "study -> enqueue[0] -> training.scheduler.step_size", "must be on the searched grid 2, 4"),
    ([{"training.scheduler.step_size": 4}], "study -> enqueue[0] -> training.scheduler.step_size",
     "is used only when training.scheduler.type is one of 'step'"),
    ([{"training.scheduler.type": "cosine", "training.scheduler.step_size": 4}],
     "study -> enqueue[0] -> training.scheduler.step_size", "but got 'cosine'"),
    ([{"training.lr": 1e-3}] * 5, "study -> enqueue", "lists 5 trials, more than study.n_trials (4)"),
])
def test_bad_entries_name_the_line_the_key_path_and_the_value(tmp_path: Path, enqueue: object, path: str,
                                                             message: str) -> None:
    file = spec_file(tmp_path, enqueue)
    with pytest.raises(SpecError) as error:
        load_spec(file)
    text = str(error.value)
    line = next(i for i, row in enumerate(file.read_text().splitlines(), 1) if row.startswith("  enqueue:"))
    assert text.startswith(f"{file}:") and int(text.split(":")[1]) >= line
    assert f": {path}: " in text and message in text
    assert not (tmp_path / "studies").exists()  # refused before anything is written


def test_the_driver_enqueues_only_into_a_new_study(tmp_path: Path) -> None:
    first = {"training.lr": 1e-4, "training.clip_threshold": 10.0}
    spec = load_spec(spec_file(tmp_path, [first]))
    result = run_sweep(spec, executor=InlineExecutor(synthetic_trial))
    study = optuna.load_study(study_name=spec.study.name, storage=spec.study.storage)
    assert len(result.trials) == 4 and {k: study.trials[0].params[k] for k in first} == first
    assert enqueue_first(spec, study) == 0  # a resumed study keeps its own queue
    assert not study.get_trials(states=(optuna.trial.TrialState.WAITING,))


def test_the_shipped_navier_stokes_sweep_validates_and_starts_with_the_seeds_configuration() -> None:
    spec = load_spec(REPO / "sweeps" / "ns_clip.yaml")
    assert spec.data.problem == "navier-stokes" and spec.data.viscosity == 1e-3
    assert dict(spec.study.enqueue[0]) == {
        "training.lr": 1e-4, "training.clip_threshold": 10.0, "training.scheduler.type": "step",
        "training.scheduler.step_size": 4, "training.batch_size": 8, "model.hidden_channels": 64,
    }
    assert {p.key for p in spec.search} >= {"training.lr", "training.clip_threshold", "training.scheduler.type",
                                             "training.batch_size", "model.hidden_channels"}


@pytest.mark.slow
def test_the_shipped_navier_stokes_sweep_runs_shrunk_with_set(tmp_path: Path) -> None:
    # The real trial (torch, neuralop) on real generated data, shrunk to seconds by --set alone.
    shrink = [f"study.storage=sqlite:///{tmp_path}/ns.db", "study.n_trials=1", "execution.backend=inline",
              f"data.root={tmp_path}/data", "data.resolution=16", "data.test_resolutions=[16]",
              "study.metric=eval.16_l2", "data.n_train=8", "data.n_test=4", "data.t_final=0.1",
              "model.n_modes=[4,4]", "training.epochs=1"]
    spec = load_spec(REPO / "sweeps" / "ns_clip.yaml", shrink)
    result = run_sweep(spec)
    study = optuna.load_study(study_name=spec.study.name, storage=spec.study.storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE"]
    assert study.trials[0].params == dict(spec.study.enqueue[0]) and len(result.trials) == 1
