"""Train the labelled corpus: small real FNOs on 16x16 Darcy, one known cause each.

Every run is labelled (its cause and the verdicts that cause admits) in ``RUNS`` below,
before any diagnosis runs; ``labels.json`` is written from that table. Most runs train in a
plain loop with `StabilityMonitor`; the ``attach`` ones through ``neuralop.Trainer``.
Shapes a CPU cannot produce in seconds (a slow explosion under clipping, ...) are in
``synthetic.py`` and are marked ``synthetic`` in the labels.

    PYTHONPATH=src python examples/corpus/make_corpus.py            # all runs (~minutes, 1 thread)
    PYTHONPATH=src python examples/corpus/make_corpus.py lr_low_adam # one run
    PYTHONPATH=src python examples/corpus/make_corpus.py --labels    # labels.json only
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
RES, N_TRAIN, N_TEST = 16, 32, 16
TARGET = 0.25
"""Eval target of the real runs: what a small FNO reaches on 32 samples of 16x16 Darcy in
25 epochs (0.11-0.25 in the healthy baselines); the synthetic ones keep the default 0.1."""


@dataclass(frozen=True)
class Run:
    name: str
    cause: str
    acceptable: tuple[str, ...]
    optimizer: str = "adam"
    lr: float = 3e-3
    clip: float | None = None
    scheduler: str = "none"
    epochs: int = 25
    batch: int = 8
    width: int = 12
    modes: int = 6
    n_train: int = N_TRAIN
    weight_decay: float = 0.0
    fault: str = ""
    skip_nonfinite: bool = False
    trainer: bool = False
    budget: bool = True
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


H = ("healthy",)
UNSTABLE = ("diverged", "exploding_gradients")
SLOW = ("plateau", "learning_slowly")
RUNS = [
    # healthy baselines
    Run("healthy_adam_const", "healthy baseline (Adam, constant lr)", H),
    Run("healthy_adam_cosine", "healthy baseline (Adam, cosine)", H, scheduler="cosine"),
    Run("healthy_adamw_step", "healthy baseline (AdamW, step decay)", H, optimizer="adamw",
        weight_decay=1e-4, scheduler="step"),
    Run("healthy_sgd_cosine", "healthy baseline (SGD momentum, cosine)", H + ("learning_slowly",),
        optimizer="sgd", lr=2e-3, scheduler="cosine"),
    Run("healthy_adam_warm_restarts", "healthy baseline (warm restarts: scheduled bumps)", H,
        scheduler="warm_restarts"),
    Run("healthy_adam_plateau_sched", "healthy baseline (ReduceLROnPlateau)", H, scheduler="plateau"),
    Run("healthy_adam_step_bump", "look-alike: step decay makes a kink, not a plateau", H,
        scheduler="step", seed=1),
    Run("healthy_trainer_adamw", "healthy baseline through neuralop.Trainer (attach)", H,
        optimizer="adamw", weight_decay=1e-4, trainer=True, scheduler="cosine"),
    Run("healthy_trainer_adam_clip", "healthy, Adam clip 1.0 with the batch-summed loss (clips "
        "most steps: harmless for Adam), through neuralop.Trainer", H, clip=1.0, trainer=True),
    Run("heavy_clip_adam", "look-alike: Adam clipped at 0.5 on every step, still learning", H,
        clip=0.5),
    Run("heavy_clip_sgd", "SGD clipped at 0.05 on every step: the clip sets the step length",
        H + SLOW, optimizer="sgd", lr=5e-2, clip=0.05),
    Run("healthy_wide_nobudget", "healthy, no epoch budget in the run line", H, budget=False,
        seed=2),
    Run("batch1_noise", "batch size 1: noisy but learning", H + ("learning_slowly",), batch=1,
        lr=1e-3, epochs=12),
    # lr too high
    Run("lr_high_adam_noclip", "lr too high (Adam, no clip)", UNSTABLE + ("plateau",), lr=1.0),
    Run("lr_high_adam_clip", "lr too high (Adam, clip 1.0)", UNSTABLE + ("plateau",), lr=1.0,
        clip=1.0),
    Run("lr_high_sgd_noclip", "lr too high (SGD, no clip)", UNSTABLE, optimizer="sgd", lr=0.5),
    Run("lr_high_sgd_clip", "lr too high (SGD, clip 10)", UNSTABLE + ("plateau",),
        optimizer="sgd", lr=2.0, clip=10.0),
    Run("lr_high_trainer", "lr too high through neuralop.Trainer (Adam)", UNSTABLE + ("plateau",),
        lr=1.0, trainer=True),
    # lr too low
    Run("lr_low_adam", "lr too low (Adam 1e-6)", SLOW, lr=1e-6, epochs=15),
    Run("lr_low_sgd", "lr too low (SGD 1e-7)", SLOW, optimizer="sgd", lr=1e-7, epochs=15),
    Run("lr_low_nobudget", "lr too low, no epoch budget (pace judged without one)", SLOW,
        lr=3e-7, epochs=15, budget=False),
    # data / model faults
    Run("unlearnable_targets", "unlearnable targets (random noise)", SLOW + ("overfitting",),
        fault="random_targets"),
    Run("output_clamp", "output clamp: predictions clamped to ±1e-3", SLOW, fault="clamp"),
    Run("eval_pipeline_bug", "evaluation pipeline bug: eval compares un-decoded predictions",
        H + SLOW, fault="eval_bug"),
    Run("coupled_weight_decay", "coupled weight decay that kills learning (Adam, wd 10)", SLOW,
        weight_decay=10.0),
    Run("nan_data_guarded", "NaN in one training sample, guard on (skipped steps)",
        H + ("learning_slowly",), fault="nan_sample", skip_nonfinite=True),
    Run("nan_data_unguarded", "NaN in one training sample, no guard", ("diverged",),
        fault="nan_sample"),
    Run("tiny_data_wide", "4 samples, wide model: memorises", ("overfitting", "overparameterized",
        "plateau"), n_train=4, width=32, modes=8, batch=4, epochs=40),
    Run("noise_floor", "converges to a noise floor (targets + 30 % noise)", H + SLOW,
        fault="noisy_targets", epochs=30),
    Run("overfit_noisy_tiny", "memorises 4 samples with noisy targets (wide model, 60 epochs)",
        ("overfitting", "overparameterized"), n_train=4, width=32, modes=8, batch=2, epochs=60,
        fault="very_noisy_targets"),
    Run("overfit_noisy_small", "memorises 8 samples with noisy targets, AdamW, no weight decay",
        ("overfitting", "overparameterized"), optimizer="adamw", n_train=8, width=32, modes=8,
        batch=4, epochs=60, fault="very_noisy_targets", seed=3),
    Run("short_run", "healthy but only 3 epochs", H + ("learning_slowly",), epochs=3),
    Run("lr_high_sgd_trainer", "lr too high (SGD) through neuralop.Trainer", UNSTABLE,
        optimizer="sgd", lr=0.5, trainer=True),
]


def data(seed: int = 0) -> tuple[torch.Tensor, ...]:
    from fnosweep.data.darcy import generate_darcy

    cache = HERE / ".darcy16.pt"
    if cache.exists():
        return torch.load(cache)
    x, y = generate_darcy(n=N_TRAIN + N_TEST, resolution=RES, seed=seed)[RES]
    out = (x[:N_TRAIN, None], y[:N_TRAIN, None], x[N_TRAIN:, None], y[N_TRAIN:, None])
    torch.save(out, cache)
    return out


class Clamp(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module, bound: float) -> None:
        super().__init__()
        self.inner, self.bound = inner, bound

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).clamp(-self.bound, self.bound)


def build(run: Run) -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    from neuralop.models import FNO

    torch.manual_seed(run.seed)
    model: torch.nn.Module = FNO(n_modes=(run.modes, run.modes), hidden_channels=run.width,
                                 in_channels=1, out_channels=1, n_layers=3)
    if run.fault == "clamp":
        model = Clamp(model, 1e-3)
    kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}.get(run.optimizer)
    if kind is not None:
        opt: torch.optim.Optimizer = kind(model.parameters(), lr=run.lr,
                                          weight_decay=run.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=run.lr, momentum=0.9,
                              weight_decay=run.weight_decay)
    sched = {
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, run.epochs),
        "step": lambda: torch.optim.lr_scheduler.StepLR(opt, max(run.epochs // 3, 1), 0.3),
        "warm_restarts": lambda: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 8),
        "plateau": lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.3, patience=3),
        "none": lambda: None,
    }[run.scheduler]()
    return model, opt, sched


def prepared(run: Run) -> tuple[torch.Tensor, ...]:
    x, y, xt, yt = data()
    x, y = x[: run.n_train].clone(), y[: run.n_train].clone()
    g = torch.Generator().manual_seed(run.seed)
    if run.fault == "random_targets":
        y = torch.randn(y.shape, generator=g)
    if run.fault == "noisy_targets":
        y = y + 0.3 * y.std() * torch.randn(y.shape, generator=g)
    if run.fault == "very_noisy_targets":
        y = y + 1.0 * y.std() * torch.randn(y.shape, generator=g)
    if run.fault == "nan_sample":
        x[3, 0, 5, 5] = math.nan
    # unit-Gaussian normalisation of inputs and outputs, fitted on the training set's finite
    # values (so that one NaN sample stays one bad sample, not a NaN normaliser)
    ok = x[x.isfinite()]
    xm, xs, ym, ys = ok.mean(), ok.std(), y.mean(), y.std()
    return (x - xm) / xs, (y - ym) / ys, (xt - xm) / xs, yt, ym, ys


def train(run: Run, path: Path) -> None:
    from neuralop.losses import LpLoss

    from fnosweep.monitor import StabilityMonitor

    x, y, xt, yt, ym, ys = prepared(run)
    model, opt, sched = build(run)
    loss_fn = LpLoss(d=2, p=2)  # relative L2, summed over the batch (neuralop's default)
    info: dict[str, Any] = {"n_train": len(x), "batch_size": run.batch, "loss": "l2",
                            "scheduler": run.scheduler, "problem": "darcy", "resolution": RES}
    if run.budget:
        info["epochs"] = run.epochs
    path.unlink(missing_ok=True)
    mon = StabilityMonitor(model, opt, clip_threshold=run.clip, history=path, run_info=info,
                           skip_nonfinite=run.skip_nonfinite)

    def evaluate() -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            out = model(xt)
            pred = out if run.fault == "eval_bug" else out * ys + ym  # the bug: no decoding
            value = float(loss_fn(pred, yt)) / len(xt)
        model.train()
        return {f"{RES}_l2": value}

    if run.trainer:
        _train_with_trainer(run, model, opt, sched, mon, x, y, xt, (yt - ym) / ys)
        return
    for _ in range(run.epochs):
        mon.start_epoch()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), run.batch):
            idx = perm[i : i + run.batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            mon.observe(loss, batch_size=len(idx))
            opt.step()
        ev = evaluate()
        mon.end_epoch(ev)
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(ev[f"{RES}_l2"])
        elif sched is not None:
            sched.step()
    mon.close()


class _Dicts(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


def _train_with_trainer(run: Run, model: Any, opt: Any, sched: Any, mon: Any, x: Any, y: Any,
                        xt: Any, yt_norm: Any) -> None:
    from neuralop import Trainer
    from neuralop.losses import LpLoss

    loader = torch.utils.data.DataLoader(_Dicts(x, y), batch_size=run.batch, shuffle=True)
    test = torch.utils.data.DataLoader(_Dicts(xt, yt_norm), batch_size=len(xt))
    sched = sched or torch.optim.lr_scheduler.StepLR(opt, step_size=10**6)
    trainer = Trainer(model=model, n_epochs=run.epochs, device="cpu", eval_interval=1,
                      verbose=False)
    mon.attach(trainer)
    trainer.train(loader, {RES: test}, opt, sched, training_loss=LpLoss(d=2),
                  eval_losses={"l2": LpLoss(d=2)})
    mon.close()


def main(names: list[str]) -> None:
    torch.set_num_threads(1)
    labels = {r.name: {"cause": r.cause, "acceptable": list(r.acceptable), "synthetic": False,
                       "trainer": r.trainer, "target": TARGET} for r in RUNS}
    from synthetic import SYNTHETIC  # noqa: E402 (this folder's module)

    labels |= {name: {"cause": cause, "acceptable": list(ok), "synthetic": True, "trainer": False,
                      "target": 0.1} for name, (cause, ok, _) in SYNTHETIC.items()}
    (HERE / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")
    if names == ["--labels"]:
        return
    (HERE / "runs").mkdir(exist_ok=True)
    for name, (_, _, write) in SYNTHETIC.items():
        if not names or name in names:
            write(HERE / "runs" / f"{name}.jsonl")
    for run in RUNS:
        if names and run.name not in names:
            continue
        train(run, HERE / "runs" / f"{run.name}.jsonl")
        print("trained", run.name, flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main(sys.argv[1:])
