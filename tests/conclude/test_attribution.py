"""Attribution on constructed sweeps whose cause is known: lr alone, lr × clip, nothing
unstable (width drives the objective), and too few trials to tell."""

from __future__ import annotations

import random
from typing import Any

import pytest

from fnosweep.conclude import SweepTrial, conclude, render_sweep, suggest_space

LR, CLIP, BATCH = "training.lr", "training.clip_threshold", "training.batch_size"
SCHED, STEP, WIDTH = "training.scheduler.type", "training.scheduler.step_size", "model.hidden_channels"
SPACE = {
    LR: {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    CLIP: {"type": "categorical", "choices": [None, 0.5, 1.0, 10.0]},
    SCHED: {"type": "categorical", "choices": ["step", "cosine", "plateau"]},
    STEP: {"type": "int", "low": 2, "high": 6, "when": {SCHED: "step"}},
    BATCH: {"type": "categorical", "choices": [8, 16, 32]},
    WIDTH: {"type": "int", "low": 16, "high": 64, "step": 16},
}


def params(rng: random.Random, clips: tuple[Any, ...] = (None, 0.5, 1.0, 10.0)) -> dict[str, Any]:
    p: dict[str, Any] = {LR: 10 ** rng.uniform(-4, 0), CLIP: rng.choice(clips), SCHED: rng.choice(["step", "cosine"])}
    if p[SCHED] == "step":
        p[STEP] = rng.randint(2, 6)
    return p | {BATCH: rng.choice([8, 16, 32]), WIDTH: rng.choice([16, 32, 48, 64])}


def sweep(n: int, unstable: Any, seed: int = 1, **kw: Any) -> list[SweepTrial]:
    """`n` trials whose params are random; `unstable(params)` says which diverge (pruned at
    epoch 2); the others complete with an objective that falls with width."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        p = params(rng, **kw)
        if unstable(p):
            out.append(SweepTrial(i, "PRUNED", p, None, None, prune_reason="diverged", verdict="diverged"))
        else:
            value = 0.4 - 0.005 * p[WIDTH] + 0.002 * rng.random()
            out.append(SweepTrial(i, "COMPLETE", p, value, None, verdict="healthy"))
    return out


def lr_alone(p: dict[str, Any]) -> bool:
    return p[LR] >= 0.1


def lr_without_clip(p: dict[str, Any]) -> bool:
    return p[LR] >= 0.1 and p[CLIP] is None


CASES = {
    "lr alone": (sweep(40, lr_alone), "cause", (LR,)),
    "lr x clip": (sweep(48, lr_without_clip, clips=(None, 1.0)), "cause", (LR, CLIP)),
    "nothing unstable": (sweep(24, lambda p: False), "no_instability", None),
    "too few": (sweep(7, lr_alone, seed=2), "cannot_tell", None),
}


@pytest.mark.parametrize(("name"), list(CASES))
def test_the_attribution_names_the_known_cause(name):
    trials, status, cause = CASES[name]
    a = conclude(trials, metric="eval.32_l2").attribution
    assert a is not None and a.status == status
    assert (tuple(sorted(a.cause.knobs)) if a.cause else None) == (tuple(sorted(cause)) if cause else None)


def test_lr_alone_names_lr_only_and_clears_the_knobs_that_rode_along():
    c = conclude(CASES["lr alone"][0], metric="eval.32_l2")
    assert c.changes[0].startswith(f"{LR}: keep to lr < 1e-1")
    blamed = [ch for ch in c.changes if ch.startswith((CLIP, BATCH, STEP, SCHED)) and "left as searched" not in ch]
    assert blamed == []
    assert all(o.effect is None and o.bad == 0 for o in c.attribution.others)
    text = render_sweep(c)
    assert "no effect once lr < 1e-1" in text
    space = suggest_space(CASES["lr alone"][0], space=SPACE)
    assert space[LR]["high"] < 0.1 and space[CLIP] == SPACE[CLIP] and space[BATCH] == SPACE[BATCH]
    assert space[STEP] == SPACE[STEP]


def test_a_knob_that_looked_unstable_is_left_as_searched_with_its_counts():
    # batch 32 rode along with high lrs: on its own it looks unstable, conditioned it is not
    rng = random.Random(5)
    trials = []
    for i in range(30):
        p = params(rng)
        p[BATCH] = 32 if i % 10 < 4 else rng.choice([8, 16])
        p[LR] = 0.3 if i % 10 < 3 else 10 ** rng.uniform(-4, -1.5)
        bad = p[LR] >= 0.1
        trials.append(SweepTrial(i, "PRUNED" if bad else "COMPLETE", p, None if bad else 0.2, None,
                                 verdict="diverged" if bad else "healthy"))
    c = conclude(trials, metric="eval.32_l2")
    assert c.attribution.cause.knobs == (LR,)
    line = next(ch for ch in c.changes if ch.startswith(BATCH))
    assert "left as searched" in line and "no effect once lr < 1e-1 (21 trials there, 0 unstable)" in line


def test_lr_x_clip_names_the_interaction():
    c = conclude(CASES["lr x clip"][0], metric="eval.32_l2")
    text = render_sweep(c)
    assert "with clip_threshold null" in text and "Neither knob alone explains it" in text
    assert c.grid is not None and {c.grid.x_knob, c.grid.y_knob} == {LR, CLIP}  # the map shows the pair


def test_nothing_unstable_says_so_and_names_width_for_the_objective():
    c = conclude(CASES["nothing unstable"][0], metric="eval.32_l2")
    assert c.importance is not None and next(iter(c.importance.values)) == WIDTH
    text = render_sweep(c)
    assert "No trial was unstable (24 finished" in text
    assert f"{WIDTH}: matters most for eval.32_l2" in c.changes[0]


def test_too_few_trials_says_it_cannot_tell_and_narrows_nothing():
    trials = CASES["too few"][0]
    assert sum(t.verdict == "diverged" for t in trials) >= 1
    c = conclude(trials, metric="eval.32_l2")
    assert "Too few trials to tell which knob causes it" in render_sweep(c)
    assert not any(ch.startswith(LR) for ch in c.changes)
    assert suggest_space(trials, space=SPACE) == {k: dict(v) for k, v in SPACE.items()}


def test_interrupted_trials_count_nowhere():
    trials = CASES["lr alone"][0]
    again = [*trials, SweepTrial(99, "FAIL", {**trials[0].params, LR: 1e-3}, None, None, interrupted=True)]
    a, b = conclude(trials, metric="eval.32_l2"), conclude(again, metric="eval.32_l2")
    assert b.interrupted == 1 and (a.n_trials, a.states, a.verdicts) == (b.n_trials, b.states, b.verdicts)
    assert a.attribution == b.attribution
