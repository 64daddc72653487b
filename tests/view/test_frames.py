import math

import pytest

from fnosweep.errors import FnosweepError, StoreError
from fnosweep.view import frames


def test_trials_frame_has_one_row_per_trial_with_params_and_counts(ref):
    t = frames.trials_frame(ref)
    rows = ref.store.trials(ref.name)
    assert list(t["number"]) == [r.number for r in rows]
    for col in (
        "state",
        "verdict",
        "objective",
        "epochs",
        "duration_s",
        "n_params",
        "reason",
        "param.training.lr",
        "param.training.clip_threshold",
        "param.model.hidden_channels",
    ):
        assert col in t.columns
    counts = {n: len(e) for n, e in ref.store.epochs(ref.name).items()}
    assert dict(zip(t["number"], t["epochs"], strict=True)) == {r.number: counts.get(r.number, 0) for r in rows}
    done = t[t["state"] == "COMPLETE"]
    assert (done["duration_s"] > 0).all() and t.loc[t["state"] == "RUNNING", "duration_s"].isna().all()


def test_epochs_frame_flattens_every_metric_and_keeps_nan(ref):
    e = frames.epochs_frame(ref)
    assert len(e) == sum(len(v) for v in ref.store.epochs(ref.name).values())
    assert e.columns[:2].tolist() == ["number", "epoch"]
    for col in (
        "train_loss",
        "eval.32_l2",
        "eval.64_h1",
        "grad_norm.p95",
        "clip_fraction",
        "groups.fno_blocks.max",
        "groups.fno_blocks.0.mean",
        "update_ratio",
        "peak_mem_bytes",
    ):
        assert col in e.columns
    assert "kind" not in e.columns
    diverged = ref.store.trials(ref.name)
    number = next(r.number for r in diverged if r.verdict == "diverged")
    assert math.isnan(e.loc[e["number"] == number, "train_loss"].iloc[-1])


def test_epoch_columns_come_in_a_readers_order():
    names = [
        "groups.fno_blocks.1.max",
        "eval.64_l2",
        "groups.fno_blocks.max",
        "eval.32_h1",
        "grad_norm.max",
        "epoch",
        "groups.lifting.mean",
        "eval.32_l2",
        "grad_norm.median",
        "train_loss",
        "number",
        "groups.fno_blocks.10.mean",
    ]
    assert frames.order_columns(names) == [
        "number",
        "epoch",
        "train_loss",
        "eval.32_l2",
        "eval.32_h1",
        "eval.64_l2",
        "grad_norm.median",
        "grad_norm.max",
        "groups.lifting.mean",
        "groups.fno_blocks.max",
        "groups.fno_blocks.1.max",
        "groups.fno_blocks.10.mean",
    ]


def test_histories_from_the_table_equal_the_stores_records(ref):
    rows = ref.store.trials(ref.name)
    hist = frames.histories(ref.store.epoch_lines(ref.name), {r.number: r.run_info for r in rows})
    healthy = next(r.number for r in rows if r.verdict == "healthy" and r.state == "COMPLETE")
    assert hist[healthy].epochs == tuple(ref.store.epochs(ref.name, [healthy])[healthy])
    assert hist[healthy].run == frames.history_of(ref, healthy).run


def test_load_reads_a_study_by_url_and_name(sweep_url):
    loaded = frames.load(sweep_url, "synthetic")
    assert len(loaded.trials) == 41 and set(loaded.epochs["number"]) <= set(loaded.trials["number"])


def test_unknown_study_lists_the_studies_there(sweep_url):
    with pytest.raises(StoreError, match="no study 'nope'.*synthetic"):
        frames.load(sweep_url, "nope")


def test_unknown_trial_is_one_line(ref):
    with pytest.raises(FnosweepError, match="has no trial 999"):
        frames.history_of(ref, 999)
