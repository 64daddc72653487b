"""StabilityMonitor: every metric against a direct computation on a tiny real FNO."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from neuralop.losses import LpLoss
from neuralop.models import FNO
from neuralop.utils import count_model_params
from torch import nn

from fnosweep.errors import MonitorError
from fnosweep.history import EpochRecord, read_history
from fnosweep.monitor import StabilityMonitor
from fnosweep.monitor._grad_stats import groups_of, quantile
from fnosweep.spec.thresholds import VERDICTS

N_TRAIN, BATCH = 30, 8  # batches of 8, 8, 8, 6: per-sample and per-batch figures differ
CLIP = 0.3  # clips some, not all, of the tiny FNO's steps (asserted below)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is fastest and immune to a busy machine's contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_fno(seed: int = 0, **kwargs: Any) -> FNO:
    torch.manual_seed(seed)
    return FNO(n_modes=(4, 4), hidden_channels=8, in_channels=1, out_channels=1, n_layers=2, **kwargs)


def data(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N_TRAIN, 1, 8, 8, generator=g), torch.randn(N_TRAIN, 1, 8, 8, generator=g)


def flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """All values as one real float64 vector (a complex value is two reals)."""
    return torch.cat([(torch.view_as_real(t) if t.is_complex() else t).detach().reshape(-1).double() for t in tensors])


# Independent of the monitor's implementation: the grouping rule of DESIGN.md, written out.
def expected_groups(name: str) -> set[str]:
    top = name.split(".")[0]
    m = re.match(r"fno_blocks\.(convs|fno_skips|channel_mlp|channel_mlp_skips)\.(\d+)\.", name)
    if m:
        return {top, f"fno_blocks.{m.group(2)}"}
    m = re.match(r"fno_blocks\.norm\.(\d+)\.", name)
    if m:
        return {top, f"fno_blocks.{int(m.group(1)) // 2}"}
    return {top}


@dataclass
class Reference:
    """What the test loop measured itself, step by step (host reads are fine here)."""

    totals: list[list[float]] = field(default_factory=list)  # per epoch: clip_grad_norm_'s returns
    groups: list[list[dict[str, float]]] = field(default_factory=list)
    batch_losses: list[list[float]] = field(default_factory=list)  # batch sums
    lrs: list[float] = field(default_factory=list)
    w_start: list[torch.Tensor] = field(default_factory=list)
    w_end: list[torch.Tensor] = field(default_factory=list)
    clipped_grads_ok: bool = True


def train(
    monitor_kwargs: dict[str, Any] | None = None,
    *,
    epochs: int = 2,
    loss_reduction: str = "sum",
    poison: dict[tuple[int, int], str] | None = None,
    history: Path | None = None,
) -> tuple[StabilityMonitor, list[EpochRecord], Reference, nn.Module]:
    """Train the tiny FNO with the monitor and measure every step directly alongside.

    ``poison[(epoch, step)]`` = ``"loss"`` (NaN loss) or ``"grad"`` (a NaN in one gradient).
    """
    model = tiny_fno()
    x, y = data()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    kwargs = {"clip_threshold": CLIP, "run_info": {"n_train": N_TRAIN}, **(monitor_kwargs or {})}
    monitor = StabilityMonitor(model, optimizer, history=history, reduction=loss_reduction, **kwargs)
    names = [n for n, _ in model.named_parameters()]
    params = list(model.parameters())
    loss_fn = LpLoss(d=2, reduction=loss_reduction)
    clip = kwargs["clip_threshold"]
    ref, records = Reference(), []
    for epoch in range(epochs):
        ref.w_start.append(flat(params))
        totals, groups, losses = [], [], []
        for step, i in enumerate(range(0, N_TRAIN, BATCH)):
            xb, yb = x[i : i + BATCH], y[i : i + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            kind = (poison or {}).get((epoch, step))
            if kind == "loss":
                loss = loss + torch.tensor(float("nan"))  # the loss only: gradients stay finite
            loss.backward()
            if kind == "grad":
                params[0].grad.view(-1)[0] = float("nan")
            losses.append(loss.item() * (len(xb) if loss_reduction == "mean" else 1))
            # The reference: clip_grad_norm_ on copies of the gradients.
            copies = [torch.zeros_like(p) for p in params]
            for c, p in zip(copies, params, strict=True):
                c.grad = p.grad.clone()
            totals.append(float(torch.nn.utils.clip_grad_norm_(copies, clip or math.inf)))
            groups.append(
                {
                    g: math.sqrt(
                        sum(
                            float(p.grad.abs().pow(2).sum())
                            for n, p in zip(names, params, strict=True)
                            if g in expected_groups(n)
                        )
                    )
                    for g in ("lifting", "fno_blocks", "projection", "fno_blocks.0", "fno_blocks.1")
                }
            )
            ref.lrs.append(optimizer.param_groups[0]["lr"])
            monitor.observe(loss, batch_size=len(xb))
            optimizer.step()
            if clip is not None and math.isfinite(totals[-1]):
                ref.clipped_grads_ok &= all(
                    torch.allclose(p.grad, c.grad, rtol=1e-5, atol=1e-8) for p, c in zip(params, copies, strict=True)
                )
        ref.totals.append(totals)
        ref.groups.append(groups)
        ref.batch_losses.append(losses)
        ref.w_end.append(flat(params))
        records.append(monitor.end_epoch(eval={"8_l2": 0.5 + epoch, "8_h1": torch.tensor(0.25)}))
        scheduler.step()
    monitor.close()
    return monitor, records, ref, model


@pytest.fixture(scope="module")
def clipped_run() -> tuple[StabilityMonitor, list[EpochRecord], Reference, nn.Module]:
    return train()


def approx(x: float) -> Any:
    return pytest.approx(x, rel=1e-5, abs=1e-9)


# -- norms, clipping, groups ------------------------------------------------------------------


def test_total_norm_stats_match_clip_grad_norm(clipped_run):
    _, records, ref, _ = clipped_run
    assert len(records) == 2
    for record, totals in zip(records, ref.totals, strict=True):
        t = torch.tensor(totals, dtype=torch.float64)
        assert record.steps == 4
        assert record.grad_norm["first"] == approx(totals[0])
        assert record.grad_norm["max"] == approx(max(totals))
        assert record.grad_norm["median"] == approx(float(t.quantile(0.5)))
        assert record.grad_norm["p95"] == approx(float(t.quantile(0.95)))


def test_clip_fraction_counts_steps_over_the_threshold(clipped_run):
    _, records, ref, _ = clipped_run
    fractions = [sum(CLIP / (n + 1e-6) < 1 for n in totals) / len(totals) for totals in ref.totals]
    assert [r.clip_fraction for r in records] == fractions
    assert 0 < sum(fractions) / len(fractions) < 1, "the threshold should clip some steps, not all"


def test_clipping_is_applied_to_the_gradients_before_the_step(clipped_run):
    assert clipped_run[2].clipped_grads_ok


def test_without_threshold_measures_but_does_not_clip():
    _, records, ref, _ = train({"clip_threshold": None})
    assert all(r.clip_fraction is None for r in records)
    assert records[0].grad_norm["max"] == approx(max(ref.totals[0]))
    assert max(ref.totals[0]) > CLIP  # so a clipping monitor would have changed them


def test_group_norms_mean_and_max_per_layer_group(clipped_run):
    _, records, ref, _ = clipped_run
    for record, steps in zip(records, ref.groups, strict=True):
        assert list(record.groups) == [
            "lifting",
            "fno_blocks",
            "projection",
            "fno_blocks.0",
            "fno_blocks.1",
        ]
        for g, stats in record.groups.items():
            values = [s[g] for s in steps]
            assert stats["mean"] == approx(sum(values) / len(values)), g
            assert stats["max"] == approx(max(values)), g


def test_parameters_are_grouped_by_fno_block_as_named():
    model = tiny_fno(norm="group_norm")
    monitor = StabilityMonitor(model, torch.optim.SGD(model.parameters(), lr=0.1))
    names = [n for n, _ in model.named_parameters()]
    assert any(n.startswith("fno_blocks.norm.3.") for n in names)  # 2 norms per block
    for group in monitor.group_names:
        assert monitor.group_parameters(group) == [n for n in names if group in expected_groups(n)]
    assert monitor.group_parameters("fno_blocks.1")[:2] == [
        "fno_blocks.convs.1.bias",
        "fno_blocks.convs.1.weight.tensor",
    ]
    assert "fno_blocks.norm.2.weight" in monitor.group_parameters("fno_blocks.1")
    monitor.close()


def test_other_models_group_by_first_name_component():
    assert groups_of("encoder.layers.0.weight") == ("encoder",)
    assert groups_of("module._orig_mod.fno_blocks.convs.3.bias") == ("fno_blocks", "fno_blocks.3")
    assert groups_of("fno_blocks.norm.5.weight") == ("fno_blocks", "fno_blocks.2")
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    monitor = StabilityMonitor(seq, torch.optim.SGD(seq.parameters(), lr=0.1))
    assert monitor.group_names == ["0", "2"]
    monitor.close()


# -- losses, weights, timing, counts ------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_train_loss_is_per_sample_and_train_err_per_batch(reduction):
    _, records, ref, _ = train(loss_reduction=reduction) if reduction == "mean" else train()
    for record, losses in zip(records, ref.batch_losses, strict=True):
        assert record.train_loss == approx(sum(losses) / N_TRAIN)
        assert record.train_err == approx(sum(losses) / len(losses))  # neuralop's train_err


def test_weight_norm_and_update_ratio(clipped_run):
    _, records, ref, _ = clipped_run
    for record, w0, w1 in zip(records, ref.w_start, ref.w_end, strict=True):
        assert record.weight_norm == approx(float(w1.norm()))
        assert record.update_ratio == approx(float((w1 - w0).norm() / w0.norm()))
    assert torch.equal(ref.w_end[0], ref.w_start[1])


def test_lr_eval_time_and_memory(clipped_run):
    _, records, ref, _ = clipped_run
    assert [r.lr for r in records] == [ref.lrs[0], ref.lrs[-1]] == [1e-2, 5e-3]
    assert records[1].eval == {"8_l2": 1.5, "8_h1": 0.25}
    for r in records:
        assert r.epoch_time_s > 0
        assert r.samples_per_s == approx(N_TRAIN / r.epoch_time_s)
        assert r.peak_mem_bytes > 10 * 2**20  # process RSS on the CPU
        assert (r.nonfinite_steps, r.nonfinite_loss_steps, r.skipped_steps) == (0, 0, 0)


def test_parameter_counts_as_neuralop_counts(clipped_run):
    monitor, _, _, model = clipped_run
    info = monitor.run_info
    assert info.n_params == count_model_params(model) == 3745  # complex weights count twice
    assert info.n_param_elements == sum(p.numel() for p in model.parameters()) == 2209
    assert info.params_per_sample == pytest.approx(3745 / N_TRAIN)
    assert (info.optimizer, info.lr, info.clip_threshold, info.n_train) == (
        "adam",
        1e-2,
        CLIP,
        N_TRAIN,
    )


def test_history_file_round_trips(tmp_path):
    path = tmp_path / "run.jsonl"
    monitor, records, _, _ = train(history=path)
    history = read_history(path)
    assert history.run == monitor.run_info
    assert history.epochs == tuple(records)


# -- non-finite steps -------------------------------------------------------------------------


def test_nonfinite_loss_and_gradients_are_counted(tmp_path):
    path = tmp_path / "nan.jsonl"
    _, records, ref, _ = train(
        {"clip_threshold": None},
        poison={(0, 1): "loss", (0, 3): "grad"},
        history=path,
    )
    first = records[0]
    assert (
        first.steps,
        first.nonfinite_steps,
        first.nonfinite_loss_steps,
        first.skipped_steps,
    ) == (4, 2, 1, 0)
    finite = [n for n in ref.totals[0] if math.isfinite(n)]
    assert first.grad_norm["max"] == approx(max(finite))  # statistics over the finite steps
    assert first.grad_norm["median"] == approx(float(torch.tensor(finite).quantile(0.5)))
    assert math.isnan(first.train_loss)  # the NaN batch is in the loss: divergence stays visible
    # Adam stepped on the NaN gradient: every later gradient is NaN, so no finite statistic.
    second = records[1]
    assert second.nonfinite_steps == 4
    assert math.isnan(second.grad_norm["median"]) and math.isnan(second.groups["lifting"]["mean"])
    assert math.isnan(read_history(path).epochs[1].grad_norm["max"])


def test_a_skipped_nan_batch_stays_out_of_train_loss():
    _, records, ref, _ = train({"clip_threshold": None, "skip_nonfinite": True}, poison={(0, 1): "loss"}, epochs=1)
    record = records[0]
    assert (record.steps, record.skipped_steps, record.nonfinite_loss_steps) == (4, 1, 1)
    taken = [loss for step, loss in enumerate(ref.batch_losses[0]) if step != 1]
    sizes = [min(BATCH, N_TRAIN - i) for i in range(0, N_TRAIN, BATCH)]
    # The mean over the steps taken: not NaN, so the trial is not pruned as diverged.
    assert record.train_loss == approx(sum(taken) / (N_TRAIN - sizes[1]))
    assert record.train_err == approx(sum(taken) / len(taken))


def test_end_epoch_reads_the_device_once_with_tensor_eval(monkeypatch):
    model = tiny_fno()
    x, y = data()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    monitor = StabilityMonitor(model, optimizer)
    loss = LpLoss(d=2)(model(x[:BATCH]), y[:BATCH])
    loss.backward()
    monitor.observe(loss, batch_size=BATCH)
    optimizer.step()
    reads: list[str] = []
    for name in ("item", "tolist", "cpu", "numpy", "__float__", "__bool__", "__int__"):
        real = getattr(torch.Tensor, name)

        def counted(self: torch.Tensor, *args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            reads.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    record = monitor.end_epoch(eval={"8_l2": torch.tensor(0.5), "8_h1": torch.tensor([0.25]), "16_l2": 0.75})
    monkeypatch.undo()
    monitor.close()
    assert reads == ["tolist"]  # the eval tensors travel in the epoch's one transfer
    assert record.eval == {"8_l2": 0.5, "8_h1": 0.25, "16_l2": 0.75}
    assert list(record.eval) == ["8_l2", "8_h1", "16_l2"]


def test_skip_nonfinite_leaves_weights_and_adam_state_untouched():
    model = tiny_fno()
    x, y = data()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    monitor = StabilityMonitor(model, optimizer, clip_threshold=CLIP, skip_nonfinite=True)
    loss_fn = LpLoss(d=2)
    for step in range(3):
        optimizer.zero_grad()
        loss = loss_fn(model(x[:BATCH]), y[:BATCH])
        loss.backward()
        if step == 1:
            next(model.parameters()).grad.view(-1)[0] = float("inf")
            before = {k: v.clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
            state = {id(p): {k: v.clone() for k, v in s.items()} for p, s in optimizer.state.items()}
        monitor.observe(loss, batch_size=BATCH)
        optimizer.step()
        if step == 1:
            after = model.state_dict()
            assert all(torch.equal(before[k], after[k]) for k in before)
            for p, s in optimizer.state.items():
                assert all(torch.equal(state[id(p)][k], v) for k, v in s.items())
    record = monitor.end_epoch()
    monitor.close()
    assert (record.steps, record.nonfinite_steps, record.skipped_steps) == (3, 1, 1)
    assert all(torch.isfinite(p).all() for p in model.parameters())


# -- no host synchronisation in the step ---------------------------------------------------------


class HostSync(AssertionError):
    pass


def _forbid_host_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str) -> Any:
        def method(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            raise HostSync(f"Tensor.{name}() called in the step")

        return method

    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, refuse(name))


@pytest.mark.parametrize("skip_nonfinite", [False, True])
def test_step_reads_nothing_from_the_device(monkeypatch, skip_nonfinite):
    model = tiny_fno()
    x, y = data()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)  # SGD itself reads nothing
    monitor = StabilityMonitor(model, optimizer, clip_threshold=CLIP, skip_nonfinite=skip_nonfinite)
    loss_fn = LpLoss(d=2)
    for i in range(0, N_TRAIN, BATCH):
        optimizer.zero_grad()
        loss = loss_fn(model(x[i : i + BATCH]), y[i : i + BATCH])
        loss.backward()
        with monkeypatch.context() as m:
            _forbid_host_reads(m)
            with pytest.raises(HostSync):  # the patch is live: a read is caught
                bool(loss > 0)
            if skip_nonfinite:  # the guard's documented, opt-in read of one flag per step
                with pytest.raises(HostSync, match="__bool__"):
                    monitor.observe(loss, batch_size=len(x[i : i + BATCH]))
                    optimizer.step()
                break
            monitor.observe(loss, batch_size=len(x[i : i + BATCH]))
            optimizer.step()
    if not skip_nonfinite:
        assert monitor.end_epoch().steps == 4
    monitor.close()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_step_does_not_synchronise_cuda():
    model = tiny_fno().cuda()
    x, y = (t.cuda() for t in data())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, capturable=True)
    monitor = StabilityMonitor(model, optimizer, clip_threshold=CLIP)
    loss_fn = LpLoss(d=2)
    for _ in range(2):
        for i in range(0, N_TRAIN, BATCH):
            optimizer.zero_grad()
            loss = loss_fn(model(x[i : i + BATCH]), y[i : i + BATCH])
            loss.backward()
            torch.cuda.set_sync_debug_mode("error")
            try:
                monitor.observe(loss, batch_size=BATCH)
                optimizer.step()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        record = monitor.end_epoch()
        assert record.steps == 4 and record.peak_mem_bytes > 0 and record.epoch_time_s > 0
    monitor.close()


# -- the per-step norm buffer ---------------------------------------------------------------------


class OneWeight(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))


def linear_steps(n_steps: int, max_exact_steps: int) -> EpochRecord:
    """Step k has total gradient norm k + 1 exactly (loss (k+1)·w of a 1-element w)."""
    model = OneWeight()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    monitor = StabilityMonitor(model, optimizer, max_exact_steps=max_exact_steps)
    for k in range(n_steps):
        optimizer.zero_grad()
        loss = (model.w * (k + 1)).sum()
        loss.backward()
        monitor.observe(loss, batch_size=1)
        optimizer.step()
    record = monitor.end_epoch()
    monitor.close()
    return record


def test_norm_statistics_are_exact_up_to_max_exact_steps():
    record = linear_steps(12, max_exact_steps=12)
    assert record.grad_norm == {
        "median": 6.5,
        "p95": approx(1 + 0.95 * 11),
        "max": 12.0,
        "first": 1.0,
    }


def test_beyond_max_exact_steps_a_strided_subsample_and_the_exact_max():
    # capacity 4: steps 0-3 kept, then every 2nd step, then every 4th: steps 0, 4, 8 remain
    record = linear_steps(12, max_exact_steps=4)
    assert record.grad_norm == {
        "median": 5.0,
        "p95": approx(5 + 0.9 * 4),
        "max": 12.0,
        "first": 1.0,
    }
    assert record.steps == 12


def test_quantile_matches_torch():
    g = torch.Generator().manual_seed(0)
    for n in (1, 2, 5, 100):
        values = torch.rand(n, generator=g, dtype=torch.float64)
        for q in (0.0, 0.5, 0.95, 1.0):
            assert quantile(sorted(values.tolist()), q) == pytest.approx(float(values.quantile(q)))


# -- neuralop.Trainer in one line ----------------------------------------------------------------


class DictDataset(torch.utils.data.Dataset):
    """Batches as neuralop's Trainer wants them: {"x": ..., "y": ...}."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


@pytest.mark.parametrize("eval_interval", [1, 2])
def test_attach_to_neuralop_trainer(tmp_path, eval_interval):
    from neuralop import Trainer

    model = tiny_fno()
    x, y = data()
    loader = torch.utils.data.DataLoader(DictDataset(x, y), batch_size=BATCH, shuffle=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    trainer = Trainer(model=model, n_epochs=2, device="cpu", eval_interval=eval_interval, verbose=False)

    monitor = StabilityMonitor(model, optimizer, clip_threshold=1.0, history=tmp_path / "run.jsonl").attach(trainer)
    metrics = trainer.train(
        loader,
        {8: loader},
        optimizer,
        scheduler,
        training_loss=LpLoss(d=2),
        eval_losses={"l2": LpLoss(d=2)},
    )
    monitor.close()

    records = read_history(tmp_path / "run.jsonl").epochs
    assert [r.epoch for r in records] == [0, 1] and records == tuple(monitor.records)
    assert [r.steps for r in records] == [4, 4]
    assert [r.lr for r in records] == [1e-2, 5e-3]
    last = records[-1]
    assert last.train_err == approx(metrics["train_err"])  # neuralop's per-batch figure
    assert last.train_loss == approx(metrics["avg_loss"])  # neuralop's per-sample figure
    assert records[0].eval.keys() == {"8_l2"}
    if eval_interval == 1:
        assert last.eval["8_l2"] == approx(float(metrics["8_l2"]))
    else:  # epoch 1 is not evaluated: it ends when train() returns
        assert last.eval == {}
    assert "train_one_batch" not in vars(trainer)  # close() restored the Trainer


def test_attach_refuses_a_trainer_with_another_optimizer():
    from neuralop import Trainer

    model = tiny_fno()
    x, y = data()
    loader = torch.utils.data.DataLoader(DictDataset(x, y), batch_size=BATCH)
    trainer = Trainer(model=model, n_epochs=1, device="cpu")
    monitor = StabilityMonitor(model, torch.optim.SGD(model.parameters(), lr=0.1)).attach(trainer)
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(MonitorError, match="another optimizer"):
        trainer.train(loader, {}, other, torch.optim.lr_scheduler.StepLR(other, 1))
    monitor.close()


# -- bad input: one clear line, no partial history ------------------------------------------------


def one_line(excinfo: pytest.ExceptionInfo[MonitorError]) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def test_model_without_parameters():
    with pytest.raises(MonitorError, match="no parameters") as e:
        StabilityMonitor(nn.ReLU(), torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1))
    one_line(e)


def test_optimizer_of_another_model():
    model, other = tiny_fno(), tiny_fno()
    with pytest.raises(MonitorError, match="holds none of the model's") as e:
        StabilityMonitor(model, torch.optim.Adam(other.parameters()))
    one_line(e)


@pytest.mark.parametrize("threshold", [-1.0, 0, float("nan"), float("inf"), True, "1.0"])
def test_bad_clip_threshold(threshold):
    model = tiny_fno()
    with pytest.raises(MonitorError, match=r"clip_threshold must be .* but got") as e:
        StabilityMonitor(model, torch.optim.SGD(model.parameters(), lr=0.1), clip_threshold=threshold)
    one_line(e)


def test_end_epoch_without_steps():
    model = tiny_fno()
    monitor = StabilityMonitor(model, torch.optim.SGD(model.parameters(), lr=0.1))
    monitor.observe(torch.tensor(1.0), batch_size=4)  # a loss alone is not a step
    with pytest.raises(MonitorError, match="no optimizer step") as e:
        monitor.end_epoch()
    one_line(e)
    monitor.close()


def test_history_in_a_missing_directory_writes_nothing(tmp_path):
    model = tiny_fno()
    path = tmp_path / "missing" / "run.jsonl"
    with pytest.raises(MonitorError, match="does not exist") as e:
        StabilityMonitor(model, torch.optim.SGD(model.parameters(), lr=0.1), history=path)
    one_line(e)
    assert not path.parent.exists()


def test_history_that_already_holds_a_run_is_kept(tmp_path):
    model = tiny_fno()
    path = tmp_path / "run.jsonl"
    path.write_text('{"kind": "run"}\n')
    with pytest.raises(MonitorError, match="already holds a history"):
        StabilityMonitor(model, torch.optim.SGD(model.parameters(), lr=0.1), history=path)
    assert path.read_text() == '{"kind": "run"}\n'


def test_run_info_contradicting_the_measured_counts(tmp_path):
    model = tiny_fno()
    with pytest.raises(MonitorError, match=r"run_info\['n_params'\] is 5, but the monitor measures 3745"):
        StabilityMonitor(
            model,
            torch.optim.SGD(model.parameters(), lr=0.1),
            run_info={"n_params": 5},
            history=tmp_path / "run.jsonl",
        )
    assert not (tmp_path / "run.jsonl").exists()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.observe(torch.ones(3), batch_size=3), "one-element tensor"),
        (lambda m: m.observe(torch.tensor(1.0), batch_size=0), "batch_size must be"),
        (
            lambda m: m.observe(torch.tensor(1.0), batch_size=2, reduction="avg"),
            "reduction must be",
        ),
        (lambda m: m.end_epoch(epoch=-1), "epoch must be"),
        (lambda m: m.end_epoch(eval={"32_l2": "low"}), r"eval\['32_l2'\] must be"),
    ],
)
def test_bad_calls(call, match):
    model = OneWeight()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = StabilityMonitor(model, optimizer)
    (model.w * 2).sum().backward()
    optimizer.step()
    with pytest.raises(MonitorError, match=match) as e:
        call(monitor)
    one_line(e)
    monitor.close()


def test_context_manager_removes_the_hooks():
    model = OneWeight()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with StabilityMonitor(model, optimizer, clip_threshold=1.0) as monitor:
        pass
    (model.w * 5).sum().backward()
    optimizer.step()  # not measured, not clipped
    assert float(model.w.grad) == 5.0
    with pytest.raises(MonitorError, match="no optimizer step"):
        monitor.end_epoch()


def test_epoch_clock_runs_from_start_epoch_to_the_last_step():
    import time

    model = OneWeight()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = StabilityMonitor(model, optimizer)
    time.sleep(0.3)  # before the epoch: not counted
    monitor.start_epoch()
    (model.w * 2).sum().backward()
    optimizer.step()
    time.sleep(0.3)  # evaluation after the last step: not counted
    record = monitor.end_epoch()
    assert 0 < record.epoch_time_s < 0.2
    (model.w * 2).sum().backward()
    optimizer.step()
    with pytest.raises(MonitorError, match="start_epoch\\(\\) after 1 steps"):
        monitor.start_epoch()
    monitor.close()


def test_public_import():
    import fnosweep

    assert fnosweep.StabilityMonitor is StabilityMonitor


# -- the history file, read by the real command ----------------------------------------------------


def test_fnosweep_diagnose_reads_a_monitor_history(tmp_path):
    path = tmp_path / "run.jsonl"
    train(history=path, epochs=2)
    out = subprocess.run(
        [sys.executable, "-m", "fnosweep.cli", "diagnose", "--history", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["verdict"] in VERDICTS, result
