"""`--suggest`: the search space narrowed to the stable region, and the follow-up spec written
from it, which must parse as any spec does (conditions included)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fnosweep.conclude import SweepTrial, followup_spec, settle_conditions, suggest_space, write_followup_spec
from fnosweep.space import load_spec
from fnosweep.spec import parse_spec

SPEC: dict[str, Any] = {
    "study": {"name": "fno", "storage": "sqlite:///studies/fno.db", "metric": "eval.32_l2", "n_trials": 8},
    "data": {"problem": "darcy", "resolution": 32, "test_resolutions": [32]},
    "training": {"lr": 1e-3, "epochs": 10},
    "search": {
        "training.lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
        "training.scheduler.type": {"type": "categorical", "choices": ["step", "cosine", "plateau"]},
        "training.scheduler.step_size": {
            "type": "int",
            "low": 5,
            "high": 20,
            "when": {"training.scheduler.type": "step"},
        },
        "training.scheduler.gamma": {
            "type": "float",
            "low": 0.1,
            "high": 0.9,
            "when": {"training.scheduler.step_size": [5, 10]},
        },
        "training.scheduler.patience": {
            "type": "int",
            "low": 0,
            "high": 10,
            "when": {"training.scheduler.type": ["step", "plateau"]},
        },
        "training.batch_size": {"type": "int", "low": 4, "high": 32, "step": 4},
    },
}


def trial(n: int, value: float, verdict: str, **params: Any) -> SweepTrial:
    return SweepTrial(number=n, state="COMPLETE", params=params, value=value, history=None, verdict=verdict)


def cosine_best() -> list[SweepTrial]:
    """The step-scheduled trials all diverged; the stable ones ran cosine or plateau, and
    the better of those had batch size 8 (lr, random here, changes nothing)."""
    trials = []
    for i in range(16):
        sched = ("step", "cosine", "plateau", "cosine")[i % 4]
        batch = (8, 16, 32)[i % 3] if sched == "step" else (8, 8, 16, 32, 8)[i % 5]
        params: dict[str, Any] = {"training.lr": 1e-4 * 10 ** ((i * 7 % 16) / 8), "training.scheduler.type": sched}
        if sched == "step":
            params |= {"training.scheduler.step_size": (5, 10)[i // 4 % 2], "training.scheduler.gamma": 0.5}
        if sched in ("step", "plateau"):
            params["training.scheduler.patience"] = 1 + i % 3
        params["training.batch_size"] = batch
        value = 0.9 if sched == "step" else (0.10 if batch == 8 else 0.30) + 0.001 * i
        trials.append(trial(i, value, "diverged" if sched == "step" else "healthy", **params))
    return trials


def test_a_parameter_whose_condition_can_no_longer_hold_is_dropped():
    space = suggest_space(cosine_best(), space=SPEC["search"])
    assert space["training.scheduler.type"]["choices"] == ["cosine", "plateau"]
    assert "training.scheduler.step_size" not in space  # when: type step, no longer a choice
    assert "training.scheduler.gamma" not in space  # its parent step_size is gone too
    assert space["training.scheduler.patience"]["when"] == {"training.scheduler.type": ["plateau"]}


def test_the_followup_spec_parses(tmp_path):
    doc = followup_spec(SPEC, suggest_space(cosine_best(), space=SPEC["search"]))
    spec = parse_spec(doc)
    assert spec.study.name == "fno_next" and doc["study"]["storage"] == "sqlite:///studies/fno_next.db"
    assert [p.key for p in spec.search] == [
        "training.lr",
        "training.scheduler.type",
        "training.scheduler.patience",
        "training.batch_size",
    ]
    batch = next(p for p in spec.search if p.key == "training.batch_size")
    assert (batch.low, batch.high, batch.step) == (4, 12, 4)  # 8 widened, back on the step-4 grid
    assert SPEC["search"]["training.scheduler.step_size"]["when"] == {"training.scheduler.type": "step"}


def test_the_file_written_by_suggest_loads(tmp_path):
    path = tmp_path / "next.yaml"
    write_followup_spec(path, SPEC, suggest_space(cosine_best(), space=SPEC["search"]))
    assert path.read_text().startswith("# Follow-up sweep written by `fnosweep diagnose --suggest`")
    spec = load_spec(path)
    assert spec.study.name == "fno_next"
    assert "training.scheduler.step_size" not in {p.key for p in spec.search}
    assert not list(tmp_path.glob(".next.yaml.tmp-*"))


def test_a_space_built_without_the_spec_keeps_the_specs_conditions_that_still_hold():
    space = suggest_space(cosine_best())  # no space: knobs from the trials, no `when`
    doc = followup_spec(SPEC, space)
    spec = parse_spec(doc)
    keys = {p.key for p in spec.search}
    assert "training.scheduler.step_size" not in keys and "training.scheduler.gamma" not in keys
    assert doc["search"]["training.scheduler.patience"]["when"] == {"training.scheduler.type": ["plateau"]}


def test_conditions_that_still_hold_are_left_as_written():
    search = copy.deepcopy(SPEC["search"])
    assert settle_conditions(search) == search


@pytest.mark.parametrize(
    ("parent", "when", "kept"),
    [
        ({"type": "int", "low": 5, "high": 10}, [5, 10, 15], [5, 10]),
        ({"type": "int", "low": 4, "high": 12, "step": 4}, [6, 8], [8]),
        ({"type": "categorical", "choices": [0.5, 1.0]}, [1, 2.0], [1]),
        ({"type": "categorical", "choices": [True]}, [1], []),
    ],
)
def test_a_condition_keeps_the_values_its_parent_can_still_take(parent, when, kept):
    search = {
        "training.scheduler.step_size": parent,
        "training.scheduler.gamma": {
            "type": "float",
            "low": 0.1,
            "high": 0.9,
            "when": {"training.scheduler.step_size": when},
        },
    }
    out = settle_conditions(search)
    if kept:
        assert out["training.scheduler.gamma"]["when"] == {"training.scheduler.step_size": kept}
    else:
        assert "training.scheduler.gamma" not in out


def test_no_stable_trial_is_refused():
    with pytest.raises(ValueError, match="no stable trial among 1 finished"):
        suggest_space([trial(0, 1.0, "diverged", **{"training.lr": 0.1})], space=SPEC["search"])


def test_suggest_round_trips_through_yaml(tmp_path: Path):
    doc = followup_spec(SPEC, suggest_space(cosine_best(), space=SPEC["search"]))
    assert parse_spec(yaml.safe_load(yaml.safe_dump(doc, sort_keys=False))) == parse_spec(doc)
