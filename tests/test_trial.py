"""A real neuralop FNO trial, tiny: 8x8 Darcy, 4 modes, 2 epochs."""

from __future__ import annotations

import math

import pytest
import torch

from fnosweep.history import EpochRecord, RunInfo
from fnosweep.space import trial_config
from fnosweep.trial import run_trial
from sweep_builders import tiny_spec


def records(tmp_path, **dotted):
    spec = tiny_spec(tmp_path, **dotted)
    params = {}
    items = list(run_trial(trial_config(spec, params, trial_number=0)))
    assert isinstance(items[0], RunInfo) and all(isinstance(r, EpochRecord) for r in items[1:])
    return items[0], items[1:]


def test_a_trial_yields_its_run_then_one_record_per_epoch(tmp_path):
    run, epochs = records(tmp_path, training__clip_threshold=1.0)
    assert run.n_params > 0 and run.n_train == 16 and run.batch_size == 8 and run.epochs == 2
    assert [e.epoch for e in epochs] == [0, 1]
    for e in epochs:
        assert set(e.eval) == {"8_l2", "8_h1"} and all(math.isfinite(v) for v in e.eval.values())
        assert math.isfinite(e.train_loss) and e.train_err == pytest.approx(e.train_loss * 8, rel=1e-5)
        assert e.steps == 2 and e.nonfinite_steps == 0 and 0 <= e.clip_fraction <= 1
        assert e.grad_norm["median"] <= e.grad_norm["p95"] <= e.grad_norm["max"]
        assert e.epoch_time_s > 0 and e.samples_per_s > 0 and e.lr == pytest.approx(1e-3 if e.epoch == 0 else 5e-4)
        assert {"lifting", "fno_blocks", "projection", "fno_blocks.0", "fno_blocks.1"} <= set(e.groups)


def test_trials_are_deterministic_given_their_seed(tmp_path):
    _, a = records(tmp_path)
    _, b = records(tmp_path)
    assert [e.eval["8_l2"] for e in a] == [e.eval["8_l2"] for e in b]


@pytest.mark.parametrize("scheduler", ["step", "cosine", "plateau", "none"])
def test_every_scheduler_and_optimizer_runs(tmp_path, scheduler):
    _, epochs = records(
        tmp_path,
        training__scheduler={"type": scheduler, "step_size": 1, "gamma": 0.5},
        training__optimizer="sgd" if scheduler == "none" else "adam",
    )
    if scheduler == "step":
        assert epochs[1].lr == pytest.approx(epochs[0].lr * 0.5)


def test_a_bf16_trial_records_the_fp32_metric_set_with_finite_values(tmp_path):
    run32, fp32 = records(tmp_path, training__clip_threshold=1.0)
    run16, bf16 = records(tmp_path, training__clip_threshold=1.0, training__precision="bf16")
    assert run16.extra["precision"] == "bf16" and run32.extra["precision"] == "fp32"
    for a, b in zip(fp32, bf16, strict=True):
        assert set(b.to_dict()) == set(a.to_dict()) and set(b.eval) == set(a.eval) and set(b.groups) == set(a.groups)
        values = [b.train_loss, b.weight_norm, *b.eval.values(), *b.grad_norm.values()]
        assert all(math.isfinite(v) for v in values) and b.nonfinite_steps == 0
        # The same model, data and seed: bf16 moves the figures by rounding, not by more.
        assert b.eval["8_l2"] == pytest.approx(a.eval["8_l2"], rel=0.05)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_trial_trains_on_cuda(tmp_path, precision):
    _, epochs = records(tmp_path, training__device="cuda", training__precision=precision)
    for e in epochs:
        assert e.nonfinite_steps == 0 and all(math.isfinite(v) for v in e.eval.values())
        assert e.peak_mem_bytes > 0 and e.samples_per_s > 0
