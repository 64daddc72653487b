"""Orchestration overhead: worker-slot utilisation on Ray, and the driver's cost per epoch record.

1. Utilisation. A sweep of `--trials` synthetic trials (`fnosweep.testing.synthetic_trial`:
   no torch, each epoch sleeps `--epoch-s`, so the time is orchestration, not training) runs
   on a local Ray with `max_concurrent` = `--slots` = the Ray CPUs, one CPU per trial, no
   pruning. Busy slot time is the trials' own work (records x epoch_s); utilisation =
   busy / (slots x wall), wall from `run_sweep` called to returned. Two sweeps run in the same
   Ray instance: the first starts its worker processes (cold), the second reuses them (warm).
   Goal (issue 10): >= 0.95.
2. Driver time per record. Synthetic trials with zero-second epochs on the inline backend,
   median pruner and stability rules on, so the driver itself is the bottleneck. Timed:
   `Driver._handle` + `Driver._settle` (store write + report + prune decision, and the trial's
   diagnosis + store row + tell when it ends), per epoch record; and the whole run's wall per record (ask, polling,
   heartbeats and progress included). On SQLite (WAL) and on a throwaway local PostgreSQL 15
   (`tests/pg.py`), alternated `--repeat` times; the best repeat of each is kept.

    .venv/bin/python benchmarks/orchestration.py            # 24 trials x 4 epochs x 0.5 s; 40 x 25 records
    .venv/bin/python benchmarks/orchestration.py --quick    # a smoke test
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts src/ on sys.path)
from _common import header

sys.path.insert(0, str(_common.REPO / "tests"))  # for pg.running_postgres


def synthetic_doc(storage: str, name: str, *, n_trials: int, epochs: int, max_concurrent: int,
                  backend: str, pruner: dict[str, Any], prune_on: list[str]) -> dict[str, Any]:  # fmt: skip
    return {
        "study": {
            "name": name,
            "storage": storage,
            "n_trials": n_trials,
            "metric": "eval.8_l2",
            "sampler": {"type": "random", "seed": 0},
            "pruner": pruner,
        },  # fmt: skip
        "data": {
            "problem": "darcy",
            "root": "/nonexistent",
            "resolution": 8,
            "test_resolutions": [8],
            "n_train": 16,
            "n_test": 8,
        },  # fmt: skip  (synthetic trials never read data)
        "model": {"n_modes": [4, 4], "hidden_channels": 8, "n_layers": 2},
        "training": {"epochs": epochs, "batch_size": 8, "lr": 1e-3},
        # lr below fnosweep.testing.DIVERGE_LR: no trial diverges, every trial runs its epochs.
        "search": {"training.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        "stability": {"prune_on": prune_on},
        "execution": {
            "backend": backend,
            "max_concurrent": max_concurrent,
            "resources": {"cpu": 1, "gpu": 0},
            "retries": 0,
            "trial_timeout_s": 600,
        },  # fmt: skip
    }


def utilisation(workdir: Path, a: argparse.Namespace) -> None:
    os.environ["FNOSWEEP_SYNTHETIC_EPOCH_S"] = str(a.epoch_s)  # Ray workers inherit it at start
    import ray

    from fnosweep.executor import RayExecutor
    from fnosweep.spec import parse_spec
    from fnosweep.testing import synthetic_trial

    started = time.perf_counter()
    ray.init(address="local", num_cpus=a.slots, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    print(f"\n## 1. utilisation on Ray: {a.trials} synthetic trials x {a.epochs} epochs x {a.epoch_s} s, "
          f"max_concurrent = {a.slots} = Ray CPUs "
          f"(ray.init took {time.perf_counter() - started:.1f} s, not counted)")  # fmt: skip
    print(f"{'run':<6} {'wall s':>7} {'ideal s':>7} {'busy slot-s':>11} {'utilisation':>11} {'overhead/trial s':>16} "
          f"{'setup s':>7} {'sweep note s':>12}")  # fmt: skip
    try:
        for run in ("cold", "warm"):
            doc = synthetic_doc(f"sqlite:///{workdir}/util_{run}.db", f"util_{run}", n_trials=a.trials,
                                epochs=a.epochs, max_concurrent=a.slots, backend="ray",
                                pruner={"type": "none"}, prune_on=[])  # fmt: skip
            spec = parse_spec(doc, source=f"util_{run}.yaml")
            t0 = time.perf_counter()
            timed = TimedDriver(spec, RayExecutor(spec.execution, synthetic_trial))
            result = timed.driver.run()
            wall = time.perf_counter() - t0
            done = [t for t in result.trials if t.state == "COMPLETE"]
            busy = sum(t.epochs for t in result.trials) * a.epoch_s
            ideal = busy / a.slots
            note = "" if len(done) == a.trials else f"  ({len(done)} of {a.trials} COMPLETE)"
            print(f"{run:<6} {wall:>7.2f} {ideal:>7.2f} {busy:>11.2f} {busy / (a.slots * wall):>11.3f} "
                  f"{(wall - ideal) * a.slots / a.trials:>16.3f} {timed.open_s:>7.2f} "
                  f"{timed.publish_s:>12.2f}{note}")  # fmt: skip
    finally:
        ray.shutdown()
    print("goal: utilisation >= 0.95")


class TimedDriver:
    """A Driver whose `_handle` + `_settle`, `_start_trial`, its setup (`_open`: lock, study)
    and its sweep note and figures (`_publish_sweep`) are timed (instance attributes shadow
    the methods)."""

    def __init__(self, spec: Any, executor: Any) -> None:
        from fnosweep.sweep.driver import Driver

        self.driver = Driver(spec, executor=executor)
        self.handle_s = self.start_s = self.open_s = self.publish_s = 0.0
        self.records = 0
        self.driver._open = self._wrap(self.driver._open, "open_s")  # type: ignore[method-assign]
        self.driver._publish_sweep = self._wrap(self.driver._publish_sweep, "publish_s")  # type: ignore[method-assign]
        self.driver._handle = self._wrap(self.driver._handle, "handle_s", count=True)  # type: ignore[method-assign]
        # an ended trial's diagnosis, store row and tell run in _settle, after the next trial starts
        self.driver._settle = self._wrap(self.driver._settle, "handle_s")  # type: ignore[method-assign]
        self.driver._start_trial = self._wrap(self.driver._start_trial, "start_s")  # type: ignore[method-assign]

    def _wrap(self, fn: Callable[..., Any], attr: str, count: bool = False) -> Callable[..., Any]:
        from fnosweep.history import EpochRecord

        def timed(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                setattr(self, attr, getattr(self, attr) + time.perf_counter() - t0)
                if count and args and args[0].kind == "item" and isinstance(args[0].payload, EpochRecord):
                    self.records += 1

        return timed


def record_cost(url: str, name: str, a: argparse.Namespace) -> tuple[float, float, float, int]:
    """(ms in _handle + _settle per record, ms in _start_trial per trial, ms of driver wall per
    record, records)."""
    import fnosweep.testing as testing
    from fnosweep.executor import InlineExecutor
    from fnosweep.spec import parse_spec

    testing.EPOCH_S = 0.0  # in-process trials: zero-second epochs, the driver is all there is
    doc = synthetic_doc(url, name, n_trials=a.record_trials, epochs=a.record_epochs, max_concurrent=2,
                        backend="inline", pruner={"type": "median", "n_startup_trials": 3, "n_warmup_steps": 2},
                        prune_on=["diverged", "exploding_gradients"])  # fmt: skip
    spec = parse_spec(doc, source=f"{name}.yaml")
    timed = TimedDriver(spec, InlineExecutor(testing.synthetic_trial))
    t0 = time.perf_counter()
    timed.driver.run()
    wall = time.perf_counter() - t0
    n = max(timed.records, 1)
    return 1e3 * timed.handle_s / n, 1e3 * timed.start_s / a.record_trials, 1e3 * wall / n, timed.records


def driver_costs(workdir: Path, a: argparse.Namespace) -> None:
    print(f"\n## 2. driver time per epoch record: {a.record_trials} synthetic trials x {a.record_epochs} epochs "
          f"(0 s each), inline backend, max_concurrent 2, median pruner + stability rules; "
          f"best of {a.repeat}")  # fmt: skip
    import pg

    best: dict[str, tuple[float, float, float, int]] = {}
    with _maybe_postgres(pg) as server:
        for i in range(a.repeat):
            urls = {"sqlite": f"sqlite:///{workdir}/records_{i}.db"}
            if server is not None:
                urls["postgresql"] = server.new_database(f"records_{i}")
            order = list(urls) if i % 2 == 0 else list(reversed(urls))  # alternate who goes first
            for backend in order:
                cost = record_cost(urls[backend], f"records_{i}", a)
                if backend not in best or cost[0] < best[backend][0]:
                    best[backend] = cost
    print(f"{'storage':<11} {'records':>7} {'_handle+_settle ms/record':>25} {'_start_trial ms/trial':>21} "
          f"{'driver wall ms/record':>21}")  # fmt: skip
    for backend, (handle, start, wall, n) in best.items():
        print(f"{backend:<11} {n:>7} {handle:>25.2f} {start:>21.2f} {wall:>21.2f}")
    if "postgresql" not in best:
        print("postgresql: not measured (no PostgreSQL binaries: scripts/postgres.sh installs them)")


class _maybe_postgres:
    """`pg.running_postgres()` when the binaries exist, else None."""

    def __init__(self, pg: Any) -> None:
        self._cm = pg.running_postgres() if pg.find_bin_dir() is not None else None

    def __enter__(self) -> Any:
        return self._cm.__enter__() if self._cm is not None else None

    def __exit__(self, *exc: Any) -> None:
        if self._cm is not None:
            self._cm.__exit__(*exc)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--trials", type=int, default=24, help="trials of the utilisation sweep")
    p.add_argument("--epochs", type=int, default=4, help="epochs per trial of the utilisation sweep")
    p.add_argument("--epoch-s", type=float, default=0.5, help="seconds per synthetic epoch (utilisation)")
    p.add_argument("--slots", type=int, default=os.cpu_count() or 2, help="Ray CPUs = max_concurrent")
    p.add_argument("--record-trials", type=int, default=40)
    p.add_argument("--record-epochs", type=int, default=25)
    p.add_argument("--repeat", type=int, default=2, help="alternated runs per storage for the record cost")
    p.add_argument("--quick", action="store_true", help="4 trials x 2 epochs x 0.2 s; 6 x 5 records, once")
    a = p.parse_args()
    if a.quick:
        a.trials, a.epochs, a.epoch_s, a.record_trials, a.record_epochs, a.repeat = 4, 2, 0.2, 6, 5, 1
    return a


def main() -> None:
    a = parse_args()
    header("orchestration overhead: Ray slot utilisation, driver cost per epoch record")
    with tempfile.TemporaryDirectory(prefix="fnosweep-orch-") as tmp:
        utilisation(Path(tmp), a)
        driver_costs(Path(tmp), a)


if __name__ == "__main__":
    main()
