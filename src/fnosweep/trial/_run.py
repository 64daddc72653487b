"""One trial: a real neuralop FNO training run, as a generator of records.

`run_trial(config)` yields the run's `RunInfo` once, then one `EpochRecord` per
epoch. It is a pure function of its config (data, model, training, seeds), so the
driver can run it in a thread, in a Ray worker on a laptop or on a cluster, and stop
it between epochs. Only this module and the monitor touch torch and neuralop.

Differences from `neuralop.Trainer`, on purpose:
- the ReduceLROnPlateau scheduler steps on the evaluation objective (the sweep's
  metric), not on the training loss;
- losses are computed on decoded (physical-unit) outputs in training and evaluation
  alike, so train and eval figures are comparable;
- gradients are clipped (optionally) and measured by `StabilityMonitor`;
- `training.precision: bf16` runs the forward under bf16 autocast with the spectral
  convolutions in fp32 (`fnosweep.trial.precision`); neuralop's Trainer has fp16 AMP only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import torch
from neuralop.losses import H1Loss, LpLoss
from neuralop.models import FNO

from fnosweep.data import load_dataset
from fnosweep.history import EpochRecord, RunInfo, metric_value
from fnosweep.monitor import StabilityMonitor
from fnosweep.spec import TrainingSpec, TrialConfig
from fnosweep.trial.precision import forward_precision, keep_spectral_fp32

EVAL_BATCH = 64
"""Samples per forward pass in evaluation (memory only: results do not depend on it)."""


def run_trial(config: TrialConfig) -> Iterator[RunInfo | EpochRecord]:
    """Train one FNO as `config` says; yield its RunInfo, then a record per epoch."""
    tr = config.training
    torch.manual_seed(tr.seed)
    device = resolve_device(tr.device)

    # Loaded under the dataset's lock: a concurrent trial with another searched data.seed
    # or n_train would regenerate the same file names, and must not do it under our feet.
    dataset = load_dataset(config.data)
    x_train, y_train = (t[: config.data.n_train].to(device) for t in dataset.train)
    tests = {
        res: (x[: config.data.n_test].to(device), y[: config.data.n_test].to(device))
        for res, (x, y) in dataset.tests.items()
    }

    # Unit-Gaussian encoding (one scale per channel), fitted on the training split only.
    x_mean, x_std = _moments(x_train)
    y_mean, y_std = _moments(y_train) if config.data.normalize_output else (0.0, 1.0)

    model = FNO(in_channels=x_train.shape[1], out_channels=y_train.shape[1], **config.model.fno_kwargs()).to(device)
    if tr.precision == "bf16":
        keep_spectral_fp32(model)  # torch's FFTs have no bf16 kernel (see fnosweep.trial.precision)
    optimizer = build_optimizer(model, tr)
    scheduler = build_scheduler(optimizer, tr)
    loss_fn = LpLoss(d=2, p=2, reduction="sum") if tr.loss == "l2" else H1Loss(d=2, reduction="sum")

    def predict(x: torch.Tensor) -> torch.Tensor:
        with forward_precision(tr.precision, device):  # bf16: autocast for the forward only
            out = model((x - x_mean) / x_std)
        # Decoded in fp32, so the loss is fp32 too (autocast would run its norms in fp32 anyway).
        return out.float() * y_std + y_mean

    monitor = StabilityMonitor(
        model,
        optimizer,
        clip_threshold=tr.clip_threshold,
        skip_nonfinite=tr.skip_nonfinite,
        run_info=run_info_fields(config, n_train=len(x_train)),
    )
    yield monitor.run_info

    shuffle = torch.Generator().manual_seed(tr.seed)
    n = len(x_train)
    try:
        for _epoch in range(tr.epochs):
            monitor.start_epoch()  # the epoch clock starts here, not at the generator's pause
            model.train()
            for idx in torch.randperm(n, generator=shuffle).split(tr.batch_size):
                idx = idx.to(device)
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(predict(x_train[idx]), y_train[idx])  # relative loss, summed over the batch
                loss.backward()
                monitor.observe(loss, batch_size=len(idx))  # accumulates on the device: no sync
                optimizer.step()  # the monitor's pre-step hook measures and clips first

            started = time.perf_counter()
            eval_losses = evaluate(predict, model, tests)
            # The epoch's one read from the device.
            record = monitor.end_epoch(eval=eval_losses, eval_time_s=round(time.perf_counter() - started, 4))
            step_scheduler(scheduler, metric_value(record, config.metric))
            yield record
    finally:
        monitor.close()


def evaluate(
    predict: Any, model: torch.nn.Module, tests: dict[int, tuple[torch.Tensor, torch.Tensor]]
) -> dict[str, float]:
    """Relative L2 and H1 per sample at every test resolution, keyed as neuralop does."""
    l2, h1 = LpLoss(d=2, p=2, reduction="sum"), H1Loss(d=2, reduction="sum")
    out: dict[str, float] = {}
    model.eval()
    with torch.inference_mode():
        for res, (x, y) in sorted(tests.items()):
            sums = torch.zeros(2, device=x.device)
            for xb, yb in zip(x.split(EVAL_BATCH), y.split(EVAL_BATCH), strict=True):
                pred = predict(xb)
                sums += torch.stack([l2(pred, yb), h1(pred, yb)])
            l2_sum, h1_sum = (sums / len(x)).tolist()  # one device read per resolution
            out[f"{res}_l2"], out[f"{res}_h1"] = l2_sum, h1_sum
    return out


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build_optimizer(model: torch.nn.Module, tr: TrainingSpec) -> torch.optim.Optimizer:
    params = model.parameters()
    if tr.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=tr.lr, weight_decay=tr.weight_decay)
    if tr.optimizer == "adam":
        return torch.optim.Adam(params, lr=tr.lr, weight_decay=tr.weight_decay)
    return torch.optim.SGD(params, lr=tr.lr, weight_decay=tr.weight_decay, momentum=tr.momentum)


def build_scheduler(optimizer: torch.optim.Optimizer, tr: TrainingSpec) -> Any:
    s = tr.scheduler
    lrs = torch.optim.lr_scheduler
    if s.type == "step":
        return lrs.StepLR(optimizer, step_size=s.step_size, gamma=s.gamma)
    if s.type == "cosine":
        return lrs.CosineAnnealingLR(optimizer, T_max=s.T_max or tr.epochs, eta_min=s.eta_min)
    if s.type == "plateau":
        return lrs.ReduceLROnPlateau(optimizer, mode="min", factor=s.factor, patience=s.patience)
    return None


def step_scheduler(scheduler: Any, value: float | None) -> None:
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        if value is not None and value == value:  # a NaN objective says nothing about a plateau
            scheduler.step(value)
    else:
        scheduler.step()


def run_info_fields(config: TrialConfig, *, n_train: int) -> dict[str, Any]:
    """The run line's description of this trial (the monitor adds parameter counts)."""
    tr = config.training
    return {
        "n_train": n_train,
        "batch_size": tr.batch_size,
        "optimizer": tr.optimizer,
        "lr": tr.lr,
        "weight_decay": tr.weight_decay,
        "clip_threshold": tr.clip_threshold,
        "scheduler": tr.scheduler.type,
        "loss": tr.loss,
        "epochs": tr.epochs,
        "precision": tr.precision,
        "problem": config.data.problem,
        "resolution": config.data.resolution,
        "study": config.study_name,
        "trial": config.trial_number,
        "attempt": config.attempt,
    }


def _moments(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    dims = [0, *range(2, t.ndim)]
    mean = t.mean(dim=dims, keepdim=True)
    std = t.std(dim=dims, keepdim=True).clamp_min(1e-8)
    return mean, std
