"""optuna-dashboard on a fnosweep study: what the driver publishes is what a user sees over HTTP."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time
import urllib.request

import optuna
import pytest

from fnosweep.testing.synthetic_sweep import build_sweep
from fnosweep.view import dashboard, frames


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def published(tmp_path):
    """A sweep whose last trial and conclusion were published as the driver does it."""
    url = f"sqlite:///{tmp_path}/d.db"
    build_sweep(url, "dash", n_trials=8, epochs=4)
    study = optuna.load_study(study_name="dash", storage=url)
    trial = study.ask()
    dashboard.publish_trial(
        study,
        trial,
        verdict="exploding_gradients",
        numbers={"grad_norm_growth": 346.0, "clip_fraction": 0.98, "n_params": 69_265_345, "eval_l2": math.nan},
        diagnosis_markdown="## Trial 8: exploding gradients\n\ngradient norm 0.078 → 27 (346×)",
    )
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    loaded = frames.load(url, "dash")
    figures = dashboard.sweep_figures(loaded.trials, loaded.epochs, {"study": {"metric": "eval.32_l2"}})
    dashboard.publish_sweep(study, conclusion_markdown="# Sweep conclusion\n\n8 trials", figures=figures)
    return url, trial.number, sorted(figures)


def test_the_dashboard_serves_verdicts_notes_and_figures(published):
    url, number, keys = published
    port = free_port()
    code = f"from fnosweep.cli.views import dashboard; dashboard({url!r}, port={port})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(150):
            try:
                studies = get(port, "/api/studies")["study_summaries"]
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(proc.stdout.read())
                time.sleep(0.2)
        else:
            pytest.fail("the dashboard did not answer within 30 s")
        (study,) = [s for s in studies if s["study_name"] == "dash"]
        detail = get(port, f"/api/studies/{study['study_id']}")
        assert detail["note"]["body"] == "# Sweep conclusion\n\n8 trials"
        assert sorted(g["id"] for g in detail["plotly_graph_objects"]) == [f"fnosweep-{k}" for k in keys]
        assert all(json.loads(g["graph_object"])["data"] is not None for g in detail["plotly_graph_objects"])
        trial = next(t for t in detail["trials"] if t["number"] == number)
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        assert attrs == {
            "verdict": "exploding_gradients",
            "grad_norm_growth": "346.0",
            "clip_fraction": "0.98",
            "n_params": "69265345",
            "eval_l2": "nan",
        }
        assert trial["note"]["body"].startswith("## Trial 8: exploding gradients")
        verdicts = {
            t["number"]: {a["key"]: a["value"] for a in t["user_attrs"]}.get("verdict") for t in detail["trials"]
        }
        stored = frames.load(url, "dash").trials.set_index("number")["verdict"]
        assert all(verdicts[n] == stored[n] for n in range(8) if isinstance(stored[n], str))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def system_attrs(study: optuna.Study) -> dict:
    return study._storage.get_study_system_attrs(study._study_id)


def test_published_figures_stay_small(published):
    url, _, _ = published
    study = optuna.load_study(study_name="dash", storage=url)
    size = sum(len(v) for k, v in system_attrs(study).items() if k.startswith("dashboard:plot_data:"))
    assert size < 200_000


def test_publishing_again_replaces_the_figures(published):
    url, _, keys = published
    study = optuna.load_study(study_name="dash", storage=url)
    loaded = frames.load(url, "dash")
    dashboard.publish_sweep(
        study, conclusion_markdown="v2", figures=dashboard.sweep_figures(loaded.trials, loaded.epochs, {})
    )
    from optuna_dashboard import get_note
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects

    assert sorted(get_plotly_graph_objects(system_attrs(study))) == [f"fnosweep-{k}" for k in keys]
    assert get_note(study) == "v2"


def test_graph_ids_are_valid_html_ids():
    assert dashboard.graph_id("stability map / lr×clip") == "fnosweep-stability-map-lr-clip"


@pytest.mark.parametrize(("direction", "best"), [("minimize", 0.2), ("maximize", 0.5)])
def test_trial_numbers_shown_in_the_dashboard(direction, best):
    from fnosweep.history import EpochRecord, History, RunInfo
    from fnosweep.view.dashboard import trial_numbers

    h = History(RunInfo(n_params=1000, n_train=10), (
        EpochRecord(epoch=0, eval={"8_l2": 0.5}), EpochRecord(epoch=1, eval={"8_l2": float("nan")}),
        EpochRecord(epoch=2, eval={"8_l2": 0.2}, grad_norm={"p95": 3.0}, clip_fraction=0.25)))
    assert trial_numbers(h, "eval.8_l2", direction) == {
        "epochs": 3, "n_params": 1000, "params_per_sample": 100.0, "grad_norm_p95": 3.0,
        "clip_fraction": 0.25, "best_eval.8_l2": best}


def test_a_driver_run_publishes_verdicts_notes_and_figures(tmp_path):
    """Not by hand: a real sweep, and what optuna-dashboard then reads from the study."""
    from optuna_dashboard._note import get_note_from_system_attrs  # how the dashboard reads notes

    from fnosweep.executor import InlineExecutor
    from fnosweep.sweep.driver import run_sweep
    from fnosweep.testing import synthetic_trial
    from fnosweep.view.dashboard import DashboardPublisher
    from sweep_builders import tiny_spec

    spec = tiny_spec(tmp_path, study__n_trials=3, training__epochs=4)
    run_sweep(spec, executor=InlineExecutor(synthetic_trial), publisher=DashboardPublisher("eval.32_l2", "minimize"))
    study = optuna.load_study(study_name="tiny", storage=spec.study.storage)
    attrs = system_attrs(study)
    for trial in study.trials:
        assert trial.user_attrs["verdict"] == "healthy"
        assert trial.user_attrs["epochs"] == 4 and trial.user_attrs["n_params"] == 1000
        assert get_note_from_system_attrs(attrs, trial._trial_id)["body"].startswith(f"# trial {trial.number}: healthy")
    assert get_note_from_system_attrs(attrs, None)["body"].startswith("# Sweep conclusion")
    graphs = {k.split(":")[2] for k in attrs if k.startswith("dashboard:plot_data:")}
    assert {"fnosweep-objective", "fnosweep-gradients", "fnosweep-layer-groups"} <= graphs
