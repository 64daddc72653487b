"""conclude, suggest_space and render_sweep on a synthetic sweep of 20 trials."""

from __future__ import annotations

import pytest
from diag_builders import decay, make

from fnosweep.conclude import SweepTrial, conclude, render_sweep, suggest_space
from fnosweep.diagnose import diagnose, render_trial

BUDGET = 20
LRS = [1e-5 * 10 ** (4 * i / 19) for i in range(20)]  # 1e-5 .. 1e-1, log-spaced


def _trial(i: int, lr: float) -> SweepTrial:
    clip = [None, 1.0][i % 2]
    sched = ["cosine", "step"][(i // 2) % 2]
    params = {"training.lr": lr, "training.clip_threshold": clip,
              "training.scheduler.type": sched, "model.hidden_channels": [16, 32][(i // 4) % 2]}
    if lr >= 3e-3 and clip is None:  # diverges: NaN in epoch 3, pruned there
        h = make([1.0, 0.8, 0.9, float("nan")], nonfinite=[0, 0, 0, 9], lr=lr)
        return SweepTrial(i, "PRUNED", params, None, h, prune_reason="diverged")
    if lr >= 3e-3:  # clipping at 1.0 on most steps while the norm explodes: pruned
        h = make([0.9] * 5, gmed=[1, 5, 20, 60, 120], clip=[0.2, 0.6, 0.9, 0.95, 0.99], lr=lr,
                 clip_threshold=1.0)
        return SweepTrial(i, "PRUNED", params, None, h, prune_reason="exploding_gradients")
    if lr < 3e-5:  # too slow: the median pruner stops it
        h = make(decay(8, 1.0, 0.9), eval=decay(8, 0.95, 0.86), lr=lr, epochs=BUDGET)
        return SweepTrial(i, "PRUNED", params, None, h)
    end = 0.02 + 0.2 * abs(lr - 1e-3) ** 0.5  # best near lr = 1e-3
    ev = decay(BUDGET, 0.9, end)
    h = make(decay(BUDGET, 1.0, end * 0.8), eval=ev, lr=lr, gmed=0.5, clip=0.0, epochs=BUDGET)
    return SweepTrial(i, "COMPLETE", params, ev[-1], h)


TRIALS = [_trial(i, lr) for i, lr in enumerate(LRS)] + [
    SweepTrial(20, "RUNNING", {"training.lr": 1e-3}, None, None)]


@pytest.fixture(scope="module")
def c():
    return conclude(TRIALS, metric="eval.32_l2", epochs_budget=BUDGET, target=0.1)


def test_regions_of_lr(c):
    lr = next(r for r in c.regions if r.knob == "training.lr")
    assert lr.kind == "log"
    labels = {b.label: b for b in lr.bins}
    assert labels["1e-4–1e-3"].safe and labels["1e-4–1e-3"].unstable == 0
    high = labels["1e-2–1e-1"]
    assert high.unstable == high.n and not high.safe
    assert set(high.verdicts) <= {"diverged", "exploding_gradients"}


def test_categorical_knobs_get_one_bin_per_value(c):
    clip = next(r for r in c.regions if r.knob == "training.clip_threshold")
    assert clip.kind == "categorical" and {b.label for b in clip.bins} == {"null", "1.0"}


def test_best_pruning_and_compute(c):
    assert c.best is not None and c.best.verdict == "healthy"
    assert c.best.params["training.lr"] == pytest.approx(1e-3, rel=0.3)
    assert c.pruned["diverged"] >= 1 and c.pruned["exploding_gradients"] >= 1
    assert c.pruned["pruner"] >= 1
    assert c.states["RUNNING"] == 1 and c.n_trials == 21
    pruned = [t for t in TRIALS if t.state == "PRUNED"]
    assert c.epochs_saved == sum(BUDGET - len(t.history.epochs) for t in pruned)
    assert c.epochs_run == sum(len(t.history.epochs) for t in TRIALS if t.history)
    assert c.top and c.top[0].ttt is not None
    assert any("training.lr: keep to" in ch for ch in c.changes)
    # hidden_channels is not blamed for the instability of the lr it was paired with
    assert not any(ch.startswith("model.hidden_channels") for ch in c.changes)
    assert any(line.startswith("lr 1e-2–1e-1: clip_threshold 1.0 3/3") for line in c.interactions)
    j = c.to_json()
    assert j["best"]["verdict"] == "healthy" and j["regions"]


def test_suggest_space_covers_the_stable_region():
    space = {
        "training.lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
        "training.clip_threshold": {"type": "categorical", "choices": [None, 1.0]},
        "training.scheduler.type": {"type": "categorical", "choices": ["step", "cosine"]},
        "model.hidden_channels": {"type": "int", "low": 16, "high": 64, "step": 16},
    }
    s = suggest_space(TRIALS, space=space)
    lr = s["training.lr"]
    assert lr["log"] is True and lr["type"] == "float"
    assert 3e-5 <= lr["low"] <= 1e-3 <= lr["high"] < 3e-3
    assert s["model.hidden_channels"]["step"] == 16
    assert s["training.scheduler.type"]["type"] == "categorical"
    inferred = suggest_space(TRIALS)
    assert inferred["training.lr"]["log"] is True


def test_suggest_space_refuses_without_stable_trials():
    bad = [t for t in TRIALS if t.prune_reason in ("diverged", "exploding_gradients")]
    with pytest.raises(ValueError, match="no stable trial"):
        suggest_space(bad)


def test_render_sweep_has_headings_and_numbers(c):
    text = render_sweep(c)
    for heading in ("## Stable and unstable regions", "## Best configuration",
                    "## Pruning and compute saved", "## Time to target", "## What to change"):
        assert heading in text
    assert f"pruning saved {c.epochs_saved:,} epochs" in text
    assert "1e-2–1e-1 unstable" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_render_trial_of_a_synthetic_run():
    h = TRIALS[0].history
    text = render_trial(diagnose(h), h, title="trial 0")
    assert text.startswith("# trial 0: ")
    assert "## How long until a good loss?" in text


@pytest.mark.parametrize(
    ("values", "labels"),
    [
        ([None, 1.0, 10.0], ["null", "1.0", "10.0"]),  # a categorical clip keeps its spelling
        (["cosine", "step"], ["cosine", "step"]),
        ([0.0012520653814999472, 0.031], ["0.00125", "0.031"]),  # a few sampled lrs, readable
    ],
)
def test_few_values_are_categories_with_readable_labels(values, labels):
    from fnosweep.conclude import knob_region

    region = knob_region("k", [(v, "healthy", 0.1) for v in values], min_trials=1, minimize=True)
    assert [b.label for b in region.bins] == labels


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0003162277660168379, "3.162e-4"),
        (0.008095732, "8.096e-3"),
        (0.15234234, "0.1523"),
        (10.0, "10.0"),
        (None, "null"),
        (32, "32"),
        ("cosine", "cosine"),
    ],
)
def test_parameter_values_read_with_four_significant_digits(value, text):
    from fnosweep.conclude import value_text

    assert value_text(value) == text


def test_the_text_rounds_parameter_values_and_the_json_keeps_them(c):
    lr = c.best.params["training.lr"]
    assert len(repr(lr)) > 10  # a sampled lr, 0.0007847599703514606
    assert f"training.lr={lr:.3e}".replace("e-04", "e-4") in render_sweep(c).replace("\n", " ")
    assert c.to_json()["best"]["params"]["training.lr"] == lr
