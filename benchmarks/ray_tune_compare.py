"""fnosweep vs Ray Tune + OptunaSearch + ASHA on the same Darcy search, side by side.

Both systems search the space of `sweep_efficiency.py` with the same RandomSampler seed
and the same `fnosweep.space.sample_params` (so they train the same configurations in the same
order), on the same budget (trials x epochs), and both train with
`fnosweep.trial.run_trial`: Tune's trainable reports each epoch's eval L2. Run per seed:
fnosweep with no pruning (the reference), fnosweep with median + stability pruning and with
its shipped default (curve pruner, pruning on divergence only), and
Tune with OptunaSearch (Optuna study in SQLite) and the default ASHA scheduler
(grace period 1, reduction factor 4, max_t = epochs). Reported: epochs used, wall time,
best eval L2 (Tune's own "best": the lowest last-reported value of any trial, and the
best among trials that ran every epoch), and how the Optuna study records the trials
ASHA stopped (the design brief: OptunaSearch tells them COMPLETE with the rung's value).

    .venv/bin/python benchmarks/ray_tune_compare.py                # 3 seeds x 12 trials x 24 epochs
    .venv/bin/python benchmarks/ray_tune_compare.py --quick        # a smoke test

Ray Tune needs no package beyond `ray[tune]`'s own, which the venv has (ray 2.60).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common
from _common import apply_quick, darcy_doc, header, spread, sweep_parser
from sweep_efficiency import run_one

TUNE_METRIC = "eval_l2"
FNOSWEEP_PRUNED = {"fnosweep median+stab": "median+stability", "fnosweep curve+div": "curve+diverged"}
"""fnosweep's pruned runs beside the unpruned one, by row label → `_common.PRUNERS` mode
(curve+diverged: the shipped default, `pruner: {type: curve}` with `prune_on: [diverged]`)."""


@dataclass(frozen=True)
class TuneRun:
    seed: int
    epochs: int
    wall_s: float
    best_last: float | None  # what Tune/Optuna call the best: lowest last-reported value
    best_full: float | None  # lowest final value among trials that ran every epoch
    stopped: int  # trials ASHA stopped before max_t
    stopped_complete: int  # ... that the Optuna study records as COMPLETE
    states: dict[str, int]  # Optuna states of the study's trials
    params: tuple[tuple[tuple[str, Any], ...], ...]


class Space:
    """OptunaSearch's define-by-run space: fnosweep's `sample_params` (a class, since Tune pickles it)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def __call__(self, trial: Any) -> dict[str, Any]:
        from fnosweep.space import sample_params
        from fnosweep.spec import parse_spec

        return sample_params(trial, parse_spec(self.doc))


def run_tune(workdir: Path, seed: int, sizes: dict[str, int]) -> TuneRun:
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    from fnosweep.spec import parse_spec

    name = f"tune_s{seed}"
    doc = darcy_doc(workdir, name=name, seed=seed, mode="none", **sizes)
    spec = parse_spec(doc, source=f"{name}.yaml")
    epochs = spec.training.epochs

    def trainable(config: dict[str, Any]) -> None:
        # The same trial function as fnosweep's workers: one report per epoch.
        from fnosweep.history import EpochRecord, metric_value
        from fnosweep.space import trial_config
        from fnosweep.spec import parse_spec as parse
        from fnosweep.trial import run_trial

        trial_spec = parse(doc, source=f"{name}.yaml")
        for item in run_trial(trial_config(trial_spec, config, trial_number=0)):
            if isinstance(item, EpochRecord):
                value = metric_value(item, _common.METRIC)
                tune.report({TUNE_METRIC: float("nan") if value is None else value, "epoch": item.epoch})

    storage_url = f"sqlite:///{workdir}/studies/{name}.db"
    (workdir / "studies").mkdir(parents=True, exist_ok=True)
    searcher = OptunaSearch(
        space=Space(doc),  # define-by-run: fnosweep's own suggestion order
        metric=TUNE_METRIC,
        mode="min",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        study_name=name,
        storage=optuna.storages.RDBStorage(storage_url),
    )
    tuner = tune.Tuner(
        # 2 CPUs per trial, one at a time: the same threads and concurrency as the fnosweep runs.
        tune.with_resources(trainable, {"cpu": 2}),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=ASHAScheduler(time_attr="training_iteration", metric=TUNE_METRIC, mode="min", max_t=epochs),
            num_samples=spec.study.n_trials,
            max_concurrent_trials=1,
        ),
        run_config=tune.RunConfig(name=name, storage_path=str(workdir / "tune"), verbose=0),
    )
    started = time.perf_counter()
    grid = tuner.fit()
    wall = time.perf_counter() - started

    study = optuna.load_study(study_name=name, storage=storage_url)
    by_lr = {t.params.get("training.lr"): t for t in study.trials}
    used = stopped = stopped_complete = 0
    lasts: list[float] = []
    fulls: list[float] = []
    for result in grid:
        frame = result.metrics_dataframe
        n = 0 if frame is None else len(frame)
        used += n
        last = result.metrics.get(TUNE_METRIC) if result.metrics else None
        if last is not None and math.isfinite(last):
            lasts.append(last)
            if n == epochs:
                fulls.append(last)
        if n < epochs and result.error is None:
            stopped += 1
            ot = by_lr.get(result.config.get("training.lr"))
            stopped_complete += ot is not None and ot.state == optuna.trial.TrialState.COMPLETE
    states: dict[str, int] = {}
    for t in study.trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    params = tuple(tuple(sorted(t.params.items())) for t in sorted(study.trials, key=lambda t: t.number))
    return TuneRun(seed, used, wall, min(lasts, default=None), min(fulls, default=None),
                   stopped, stopped_complete, states, params)  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = sweep_parser(__doc__)
    p.add_argument("--quick", action="store_true", help="1 seed, 2 trials x 2 epochs, 16 samples")
    return apply_quick(p.parse_args(), trials=2)


def main() -> None:
    a = parse_args()
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    logging.getLogger("ray").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    header("fnosweep vs Ray Tune + OptunaSearch + ASHA (same configurations, same trial function)")
    sizes = {"n_trials": a.trials, "epochs": a.epochs, "n_train": a.n_train, "n_test": a.n_test, "max_concurrent": 1}
    print(f"# sweep: Darcy {_common.RESOLUTION}x{_common.RESOLUTION}, n_train {a.n_train}, n_test {a.n_test}, "
          f"{a.trials} trials x {a.epochs} epochs, RandomSampler, one trial at a time, seeds {a.seeds}")  # fmt: skip
    import ray

    # Started before any timing, for the Tune runs; the fnosweep runs use the inline backend.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    rows: list[tuple[int, str, int, float, float | None, str]] = []
    tune_runs: list[TuneRun] = []
    with tempfile.TemporaryDirectory(prefix="fnosweep-tune-") as tmp:
        workdir = Path(tmp)
        from fnosweep.data import ensure_dataset
        from fnosweep.spec import parse_spec

        ensure_dataset(parse_spec(darcy_doc(workdir, name="data", seed=0, **sizes)).data)
        run_one(workdir, 0, "none", {**sizes, "n_trials": 1, "epochs": 1}, prefix="warmup")
        for seed in a.seeds:
            base = run_one(workdir, seed, "none", sizes)
            pruned = {label: run_one(workdir, seed, mode, sizes) for label, mode in FNOSWEEP_PRUNED.items()}
            tr = run_tune(workdir, seed, sizes)
            tune_runs.append(tr)
            same = "yes" if tr.params == base.params else "NO"
            rows.append((seed, "fnosweep none", base.epochs, base.wall_s, base.best,
                         f"C/P/F {base.complete}/{base.pruned}/{base.failed}"))  # fmt: skip
            for label, run in pruned.items():
                why = run.reasons.get(base.best_trial) if base.best_trial is not None else None
                rows.append((seed, label, run.epochs, run.wall_s, run.best,
                             f"C/P/F {run.complete}/{run.pruned}/{run.failed}"
                             + (f"; pruned the unpruned best, trial {base.best_trial}: {why[:160]}"
                                if why else "")))  # fmt: skip
            rows.append((seed, "tune optuna+asha", tr.epochs, tr.wall_s, tr.best_last,
                         f"best of full-length trials {_fmt(tr.best_full)}; same configs as fnosweep: {same}; "
                         f"ASHA stopped {tr.stopped}, Optuna COMPLETE {tr.stopped_complete} of them; "
                         f"study states {tr.states}"))  # fmt: skip
        ray.shutdown()
    print(f"\n{'seed':>4} {'run':<21} {'epochs':>6} {'wall s':>7} {'best L2':>8}  notes")
    for seed, what, epochs, wall, best, notes in rows:
        print(f"{seed:>4} {what:<21} {epochs:>6} {wall:>7.1f} {_fmt(best):>8}  {notes}")
    print(f"\nover {len(a.seeds)} seed(s), mean (min-max):")
    for what in ("fnosweep none", *FNOSWEEP_PRUNED, "tune optuna+asha"):
        rs = [r for r in rows if r[1] == what]
        base = {r[0]: r for r in rows if r[1] == "fnosweep none"}
        ep = [100 * r[2] / base[r[0]][2] for r in rs]
        wall = [100 * r[3] / base[r[0]][3] for r in rs]
        delta = [100 * (r[4] - base[r[0]][4]) / base[r[0]][4] for r in rs if r[4] is not None and base[r[0]][4]]
        print(f"  {what:<21} epochs {spread(ep)} % of none  wall {spread(wall)} %  best L2 Δ {spread(delta)} %")
    stopped = sum(t.stopped for t in tune_runs)
    print(f"  ASHA-stopped trials recorded COMPLETE by Optuna: {sum(t.stopped_complete for t in tune_runs)} "
          f"of {stopped}")  # fmt: skip


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


if __name__ == "__main__":
    main()
