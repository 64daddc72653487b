"""A synthetic sweep written into a real store: for view tests, the scale benchmark and docs.

Trials look like the sweeps of DESIGN.md (lr x clip x scheduler x batch size x width) and
fail in the ways the seeds describe: a high lr without clipping diverges (NaN), a high lr
with lenient clipping explodes (norm up by orders of magnitude, clipping on every step), a
tiny lr learns slowly, a wide model on small batches overfits, and `fno_blocks` carries the
largest gradients. Rows are written in one transaction (200 000 epochs in seconds), and the
Optuna study beside them holds the same trials, so importance and the dashboard work.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from fnosweep.history import EpochRecord, RunInfo
from fnosweep.store.values import dumps

SEARCH: dict[str, dict[str, Any]] = {
    "training.lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "training.clip_threshold": {"type": "categorical", "choices": [None, 0.5, 1.0, 10.0]},
    "training.scheduler.type": {"type": "categorical", "choices": ["step", "cosine", "plateau"]},
    "training.batch_size": {"type": "categorical", "choices": [8, 16, 32]},
    "model.hidden_channels": {"type": "int", "low": 16, "high": 64, "step": 16},
}
GROUPS = {
    "lifting": 0.3,
    "fno_blocks": 1.0,
    "projection": 0.5,
    "fno_blocks.0": 0.6,
    "fno_blocks.1": 0.7,
    "fno_blocks.2": 0.8,
    "fno_blocks.3": 0.9,
}
"""Layer groups and their share of the total gradient norm (fno_blocks largest, as in the seeds)."""


def synthetic_spec(name: str, storage: str, *, n_trials: int, epochs: int) -> dict[str, Any]:
    """The spec dict a sweep like this would have been run with (as the store keeps it)."""
    return {
        "study": {
            "name": name,
            "storage": storage,
            "direction": "minimize",
            "metric": "eval.32_l2",
            "n_trials": n_trials,
            "pruner": {"type": "median"},
        },
        "data": {"problem": "darcy", "resolution": 32, "test_resolutions": [32, 64], "n_train": 1000},
        "training": {"epochs": epochs, "lr": 1e-3, "clip_threshold": 1.0, "batch_size": 16},
        "search": SEARCH,
    }


def build_sweep(
    url: str,
    name: str = "synthetic",
    *,
    n_trials: int,
    epochs: int,
    seed: int = 0,
    optuna_study: bool = True,
    running: int = 0,
    full: bool = False,
) -> None:
    """Write a finished sweep of `n_trials` x up to `epochs` epochs (plus `running` RUNNING trials).

    `full`: every trial records the whole budget (n_trials x epochs rows, the benchmark's
    size); pruned trials then keep their state but not their savings."""
    from fnosweep.store import Store

    rng = np.random.default_rng(seed)
    store = Store.open(url)
    spec = synthetic_spec(name, url, n_trials=n_trials, epochs=epochs)
    store.put_study(name, fingerprint="synthetic", space={"params": SEARCH}, spec=spec)
    trials = [_trial(rng, n, epochs, full) for n in range(n_trials + running)]
    for tr in trials[n_trials:]:
        tr["state"], tr["verdict"], tr["reason"], tr["value"] = "RUNNING", None, None, None
        tr["finished"] = None
    _write_rows(store, name, trials)
    if optuna_study:
        _write_optuna(url, name, trials)
    store.close()


def _trial(rng: np.random.Generator, number: int, budget: int, full: bool = False) -> dict[str, Any]:
    lr = float(10 ** rng.uniform(-5, -1))
    clip = [None, 0.5, 1.0, 10.0][int(rng.integers(4))]
    params: dict[str, Any] = {
        "training.lr": lr,
        "training.clip_threshold": clip,
        "training.scheduler.type": ["step", "cosine", "plateau"][int(rng.integers(3))],
        "training.batch_size": [8, 16, 32][int(rng.integers(3))],
        "model.hidden_channels": int(16 * rng.integers(1, 5)),
    }
    loose = clip is None or clip == 10.0
    if number % 97 == 13:
        verdict, state, n_run, reason = None, "FAIL", 1, "RuntimeError: CUDA out of memory <tried to allocate 2 GiB>"
    elif lr > 0.02 and loose:
        n_run = int(rng.integers(3, 7))
        verdict, state, reason = "diverged", "PRUNED", f"diverged: non-finite training loss at epoch {n_run - 1}"
    elif lr > 0.004 and clip != 0.5:
        n_run = max(3, min(budget, int(rng.integers(8, 16))))
        verdict, state, reason = (
            "exploding_gradients",
            "PRUNED",
            "exploding_gradients: gradient norm up 1,000x, clipping on 100 % of steps",
        )
    elif lr < 3e-5:
        verdict, state, n_run, reason = ("plateau" if lr < 1.5e-5 else "learning_slowly"), "COMPLETE", budget, None
    elif params["model.hidden_channels"] == 64 and params["training.batch_size"] == 8:
        verdict, state, n_run, reason = "overfitting", "COMPLETE", budget, None
    elif rng.random() < 0.3:
        n_run = max(1, budget // 4)
        verdict, state, reason = "healthy", "PRUNED", f"median pruner: eval.32_l2 above the median at epoch {n_run - 1}"
    else:
        verdict, state, n_run, reason = "healthy", "COMPLETE", budget, None
    n_run = min(n_run, budget)
    records = _records(rng, params, verdict, budget if full else n_run, budget, stop=n_run)
    value = next((r.eval["32_l2"] for r in reversed(records) if math.isfinite(r.eval.get("32_l2") or math.nan)), None)
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=5 * number)
    run = RunInfo(
        n_params=1_188_097 * params["model.hidden_channels"] // 32,
        n_train=1000,
        batch_size=params["training.batch_size"],
        optimizer="adamw",
        lr=lr,
        weight_decay=1e-4,
        clip_threshold=clip,
        scheduler=params["training.scheduler.type"],
        loss="h1",
        epochs=budget,
    )
    return {
        "number": number,
        "params": params,
        "state": state,
        "verdict": verdict,
        "reason": reason,
        "value": value,
        "run": run,
        "records": records,
        "started": start,
        "finished": start + timedelta(seconds=3.0 * n_run + 1),
    }


def _records(
    rng: np.random.Generator, params: dict[str, Any], verdict: str | None, n: int, budget: int, stop: int
) -> list[EpochRecord]:
    lr, clip = params["training.lr"], params["training.clip_threshold"]
    t = np.arange(n, dtype=float)
    level = 0.02 + 0.12 * abs(math.log10(lr) + 3)
    speed = 0.02 if verdict in ("plateau", "learning_slowly") else 8.0 / budget
    loss = level + (0.9 - level) * np.exp(-speed * t)
    noise = 1 + 0.02 * rng.standard_normal(n)
    grad = 0.5 * (1 + 0.5 * t / max(budget, 1)) * noise
    if verdict == "exploding_gradients":
        grad = 0.1 * 10 ** (3 * np.minimum((t + 1) / stop, 1.3)) * noise
        loss = 0.6 + 0.05 * t / stop + 0 * loss
    ev = loss * 1.15 * noise
    if verdict == "overfitting":
        ev = ev + 0.002 * np.maximum(t - budget * 0.3, 0)
    if verdict == "diverged":  # as real runs do: one epoch far off the scale, then NaN
        if stop >= 2:
            loss[stop - 2], ev[stop - 2], grad[stop - 2] = 1e8, 3e7, 1e12
        loss[stop - 1 :] = ev[stop - 1 :] = grad[stop - 1 :] = math.nan
    threshold = clip if clip is not None else math.inf
    clip_frac = np.clip((grad * 3 - threshold) / (grad * 3), 0, 1) if clip is not None else np.zeros(n)
    lr_t = lr * (
        0.5 * (1 + np.cos(np.pi * t / budget)) if params["training.scheduler.type"] == "cosine" else 0.5 ** (t // 20)
    )
    wn = 40.0 + 0.2 * t
    out = []
    for i in range(n):
        g = float(grad[i])
        out.append(
            EpochRecord(
                epoch=i,
                train_loss=float(loss[i]),
                train_err=float(loss[i]) * params["training.batch_size"],
                eval={
                    "32_l2": float(ev[i]),
                    "32_h1": float(ev[i]) * 1.4,
                    "64_l2": float(ev[i]) * 1.05,
                    "64_h1": float(ev[i]) * 1.5,
                },
                lr=float(lr_t[i]),
                grad_norm={"median": g, "p95": g * 2.2, "max": g * 3.1} | ({"first": 0.078} if i == 0 else {}),
                clip_fraction=float(clip_frac[i]),
                steps=63,
                nonfinite_steps=63 if math.isnan(g) else 0,
                groups={k: {"mean": g * s, "max": g * s * 2.5} for k, s in GROUPS.items()},
                weight_norm=float(wn[i]),
                update_ratio=float(lr_t[i]) * 30 * (1 + g),
                epoch_time_s=3.0 + 0.1 * float(noise[i]),
                samples_per_s=330.0,
                peak_mem_bytes=2_147_483_648,
            )
        )
    return out


def _write_rows(store: Any, name: str, trials: list[dict[str, Any]]) -> None:
    # One transaction for everything: Store's per-call commits would take minutes at 200 000 rows.

    trial_rows = [
        {
            "study_name": name,
            "number": tr["number"],
            "attempt": 0,
            "state": tr["state"],
            "params": dumps(tr["params"]),
            "run_info": dumps(tr["run"].to_dict()),
            "value": tr["value"],
            "verdict": tr["verdict"],
            "diagnosis": dumps({"verdict": tr["verdict"], "findings": []}) if tr["verdict"] else None,
            "reason": tr["reason"],
            "error": None,
            "started_at": tr["started"],
            "finished_at": tr["finished"],
        }
        for tr in trials
    ]
    epoch_rows = [
        {"study_name": name, "number": tr["number"], "epoch": r.epoch, "attempt": 0, "record": dumps(r.to_dict())}
        for tr in trials
        for r in tr["records"]
    ]
    store.bulk_insert(trial_rows, epoch_rows)


def _write_optuna(url: str, name: str, trials: list[dict[str, Any]]) -> None:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    dists = {
        "training.lr": FloatDistribution(1e-5, 1e-1, log=True),
        "training.clip_threshold": CategoricalDistribution([None, 0.5, 1.0, 10.0]),
        "training.scheduler.type": CategoricalDistribution(["step", "cosine", "plateau"]),
        "training.batch_size": CategoricalDistribution([8, 16, 32]),
        "model.hidden_channels": IntDistribution(16, 64, step=16),
    }
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=url, direction="minimize", load_if_exists=True)
    frozen = []
    for tr in trials:
        state = TrialState[tr["state"]]
        attrs = {k: v for k, v in (("verdict", tr["verdict"]), ("reason", tr["reason"])) if v}
        frozen.append(
            create_trial(
                state=state,
                value=tr["value"] if state == TrialState.COMPLETE else None,
                params=tr["params"],
                distributions=dists,
                user_attrs=attrs,
            )
        )
    study.add_trials(frozen)
