"""Generated histories for the property test (and benchmarks/diagnosis_properties.py).

Shapes: random walks, exponentials (falling and rising), bumps, flat noise, NaN bursts,
missing fields; with and without a clip threshold (and clip zeros recorded without one);
Adam, AdamW, SGD or no optimizer on the run line; constant, cosine, step and warm-restart lrs.
"""

from __future__ import annotations

import math
import random
from typing import Any

from hypothesis import strategies as st

from fnosweep.history import EpochRecord, History, RunInfo

SHAPES = ("walk", "decay", "rise", "bump", "flat", "plateau_after", "valley")


def _curve(draw: Any, n: int, start: float) -> list[float]:
    shape = draw(st.sampled_from(SHAPES))
    noise = draw(st.floats(0.0, 0.3))
    rate = draw(st.floats(0.0, 0.4))
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))  # the noise: cheap to draw
    steps = [rnd.uniform(-1.0, 1.0) for _ in range(n)]
    out, log = [], math.log(start)
    for i in range(n):
        if shape == "walk":
            log += 0.3 * steps[i]
        elif shape == "decay":
            log = math.log(start) - rate * i + noise * steps[i]
        elif shape == "rise":
            log = math.log(start) + rate * i + noise * steps[i]
        elif shape == "bump":
            log = math.log(start) - rate * i + (1.5 if n // 3 <= i < n // 3 + 2 else 0.0)
        elif shape == "valley":  # falls, then turns up (an overfitting eval, a late blow-up)
            log = math.log(start) - rate * i + 2 * rate * max(0, i - n // 2) + 0.1 * noise * steps[i]
        elif shape == "plateau_after":
            log = math.log(start) - rate * min(i, n // 2) + 0.02 * noise * steps[i]
        else:
            log = math.log(start) + 0.05 * noise * steps[i]
        out.append(math.exp(max(min(log, 40.0), -40.0)))
    return out


def _lr(draw: Any, n: int, lr0: float) -> list[float]:
    kind = draw(st.sampled_from(("const", "cosine", "step", "restarts")))
    if kind == "cosine":
        return [lr0 * 0.5 * (1 + math.cos(math.pi * i / n)) + 1e-9 for i in range(n)]
    if kind == "step":
        return [lr0 * 0.3 ** (i // max(n // 3, 1)) for i in range(n)]
    if kind == "restarts":
        return [lr0 * 0.5 * (1 + math.cos(math.pi * (i % 5) / 5)) + 1e-9 for i in range(n)]
    return [lr0] * n


@st.composite
def histories(draw: Any) -> History:
    n = draw(st.integers(1, 30))
    loss = _curve(draw, n, draw(st.floats(0.05, 3.0)))
    eval_kind = draw(st.sampled_from(("follows", "own", "none", "far")))
    ev = (loss if eval_kind == "follows" else _curve(draw, n, draw(st.floats(0.05, 2.0))))
    gap = draw(st.floats(0.8, 1.5)) if eval_kind != "far" else draw(st.floats(20.0, 200.0))
    grad = _curve(draw, n, draw(st.floats(0.01, 50.0)))
    clip = draw(st.sampled_from((None, 0.1, 1.0, 10.0)))
    clip_zeros = clip is None and draw(st.booleans())
    optimizer = draw(st.sampled_from(("adam", "adamw", "sgd", None)))
    lr0 = draw(st.sampled_from((1e-7, 1e-5, 1e-3, 1e-2, 0.5)))
    has_lr = draw(st.booleans())
    lrs = _lr(draw, n, lr0)
    nan_at = draw(st.sets(st.integers(0, n - 1), max_size=3)) if draw(st.booleans()) else set()
    guarded = draw(st.booleans())
    missing = draw(st.sampled_from(("none", "train", "grad", "eval", "all_train")))
    first = draw(st.one_of(st.none(), st.floats(0.01, 5.0)))
    ratio = draw(st.sampled_from((None, 1e-7, 1e-3)))
    epochs = []
    for i in range(n):
        bad = i in nan_at
        skipped = 1 if bad and guarded else 0
        nan_value = bad and not guarded
        train: float | None = math.nan if nan_value else loss[i]
        if missing == "train" and i % 3 == 1 or missing == "all_train":
            train = None if missing == "train" else math.nan
        gn: dict[str, float | None] = {}
        if missing != "grad":
            gn = {"median": math.nan if nan_value else grad[i],
                  "p95": grad[i] * 1.5, "max": grad[i] * 2}
            if i == 0 and first is not None:
                gn["first"] = first
        frac = None
        if clip is not None:
            frac = min(1.0, max(0.0, math.log10(grad[i] / clip) + 0.5)) if grad[i] > 0 else 0.0
            frac = round(frac, 3)
        elif clip_zeros:
            frac = 0.0
        e = ev[i] * gap
        epochs.append(EpochRecord(
            epoch=i, train_loss=train,
            train_err=None if train is None else train * 8,
            eval={} if eval_kind == "none" or (missing == "eval" and i % 2) else
            {"32_l2": math.nan if nan_value else e},
            lr=lrs[i] if has_lr else None, grad_norm=gn, clip_fraction=frac, steps=50,
            nonfinite_steps=1 if bad else 0, skipped_steps=skipped or None,
            update_ratio=ratio))
    run: dict[str, Any] = {
        "optimizer": optimizer, "lr": lr0 if draw(st.booleans()) else None,
        "clip_threshold": clip, "batch_size": draw(st.sampled_from((None, 1, 8, 32))),
        "loss": draw(st.sampled_from((None, "l2", "h1"))),
        "epochs": draw(st.one_of(st.none(), st.integers(max(n, 1), 200))),
        "scheduler": draw(st.sampled_from((None, "cosine", "step", "none"))),
        "weight_decay": draw(st.sampled_from((None, 0.0, 1e-4))),
    }
    if draw(st.booleans()):
        run |= {"n_params": draw(st.integers(1_000, 70_000_000)),
                "n_train": draw(st.integers(4, 10_000))}
    problem = draw(st.sampled_from((None, "darcy", "navier-stokes")))
    if problem:
        run["problem"] = problem
    return History(RunInfo.from_dict(run), tuple(epochs))
