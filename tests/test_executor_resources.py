"""Resources per trial reach Ray: four trials of `gpu: 0.25` share one GPU at the same time.

The suite's local Ray has one logical GPU (Ray only counts it; no device is touched), so the
placement is Ray's real scheduler, seen from inside the trials."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fnosweep.executor import RayExecutor
from fnosweep.sweep.driver import run_sweep
from sweep_builders import tiny_spec


@pytest.mark.slow
def test_four_quarter_gpu_trials_run_together_on_one_gpu(ray_local, tmp_path: Path) -> None:
    assert ray_local.cluster_resources().get("GPU") == 1.0
    log, arrived = tmp_path / "placements.jsonl", tmp_path / "arrived"
    arrived.mkdir()

    def placed_trial(config):  # pickled by value into the Ray workers
        import ray

        from fnosweep.testing import synthetic_trial

        # A barrier: each trial waits until all four are placed, which only happens if Ray
        # runs them at once (a worker's cold start takes longer than a synthetic trial).
        (arrived / str(config.trial_number)).touch()
        deadline = time.time() + 60
        while len(list(arrived.iterdir())) < 4 and time.time() < deadline:
            time.sleep(0.05)
        together = len(list(arrived.iterdir())) >= 4
        with open(log, "a") as f:
            f.write(json.dumps({"trial": config.trial_number, "together": together,
                                "assigned": ray.get_runtime_context().get_assigned_resources()}) + "\n")
        yield from synthetic_trial(config)

    spec = tiny_spec(
        tmp_path, study__n_trials=4, training__epochs=3,
        execution__backend="ray", execution__max_concurrent=4,
        execution__resources={"cpu": 0.5, "gpu": 0.25, "memory_mb": 64},
    )  # fmt: skip
    result = run_sweep(spec, executor=RayExecutor(spec.execution, placed_trial))

    assert [t.state for t in result.trials] == ["COMPLETE"] * 4
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(runs) == 4
    for r in runs:
        assert r["assigned"]["GPU"] == pytest.approx(0.25)
        assert r["assigned"]["CPU"] == pytest.approx(0.5)
        assert r["together"], "the four trials did not hold their quarter of the GPU at once"
