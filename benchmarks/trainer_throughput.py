"""Training throughput: a fnosweep trial against `neuralop.Trainer`, side by side.

Same FNO, same Darcy data, same batch size, same AdamW; the two train in one process,
their epochs interleaved (trainer epoch, trial epoch, ...) so load on the machine hits
both alike. Each side's time is its training part only: the trial's `epoch_time_s`
(first step to last step, as the monitor measures it, evaluation excluded) and the
Trainer's own `epoch_train_time` from `train_one_epoch`. Epoch 0 is warm-up and dropped.

The trial also runs the stability monitor (gradient norms, groups, clip accounting)
and input/output normalisation; the Trainer does neither, but calls `loss.item()`
every batch. Goal (issue 4): trial samples/s >= 1.0x the Trainer's.

    .venv/bin/python benchmarks/trainer_throughput.py [--quick] [--threads N] [--device cuda] [--precision bf16]

`measure(...)` returns the figures as a dict (benchmarks/gpu_check.py imports it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="16x16, width 16, 3 epochs: a few seconds")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    sizes = QUICK if args.quick else {**FULL, "epochs": args.epochs}
    fig = measure(**sizes, device=args.device, precision=args.precision)
    print(f"config: {fig['res']}x{fig['res']} Darcy, FNO width {fig['width']}, modes {fig['modes']}, 4 layers, "
          f"n_train {fig['n_train']}, batch {fig['batch']}, AdamW, {fig['epochs']} epochs interleaved (epoch 0 "
          f"dropped), torch threads {args.threads}, {fig['device']}, {fig['precision']}")
    print(f"{'':<22}{'median epoch s':>16}{'samples/s':>12}")
    print(f"{'neuralop.Trainer':<22}{fig['trainer_epoch_s']:>16.3f}{fig['trainer_samples_per_s']:>12.1f}")
    print(f"{'fnosweep trial':<22}{fig['trial_epoch_s']:>16.3f}{fig['trial_samples_per_s']:>12.1f}")
    print(f"trial / Trainer samples/s: {fig['ratio']:.3f} (goal >= 1.0)")
    print("per-epoch s, trainer:", " ".join(f"{t:.3f}" for t in fig["trainer_epochs_s"]))
    print("per-epoch s, trial:  ", " ".join(f"{t:.3f}" for t in fig["trial_epochs_s"]))


QUICK = {"res": 16, "width": 16, "modes": 6, "n_train": 64, "epochs": 3}
FULL = {"res": 32, "width": 32, "modes": 12, "n_train": 256, "epochs": 6}


def measure(*, res: int, width: int, modes: int, n_train: int, epochs: int, batch: int = 16,
            device: str = "cpu", precision: str = "fp32", root: Path | None = None) -> dict[str, Any]:
    """Train the trial and the Trainer side by side; their per-epoch times and samples/s.

    bf16: the trial's `training.precision: bf16`; the Trainer's own `mixed_precision`
    autocast, run with bf16 as autocast's dtype (its default on CUDA is fp16) and the same
    fp32 spectral convolutions (without them its FFTs get bf16 inputs on CUDA).
    """
    import contextlib

    import torch
    from neuralop.losses import H1Loss
    from neuralop.models import FNO
    from neuralop.training import Trainer
    from torch.utils.data import DataLoader, Dataset

    from fnosweep.data import ensure_dataset, load_split
    from fnosweep.space import trial_config
    from fnosweep.spec import parse_spec
    from fnosweep.trial import run_trial
    from fnosweep.trial.precision import keep_spectral_fp32

    root = root or Path(tempfile.mkdtemp(prefix="fnosweep-bench-"))
    doc = {
        "study": {"name": "throughput", "storage": f"sqlite:///{root}/s.db", "n_trials": 1},
        "data": {"root": str(root / "data"), "resolution": res, "n_train": n_train, "n_test": 16},
        "model": {"n_modes": [modes, modes], "hidden_channels": width, "n_layers": 4},
        "training": {"epochs": epochs, "batch_size": batch, "lr": 1e-3, "clip_threshold": None,
                     "scheduler": {"type": "none"}, "loss": "h1", "device": device, "precision": precision},
        "search": {"training.lr": {"type": "categorical", "choices": [1e-3]}},
    }  # fmt: skip
    spec = parse_spec(doc, source="trainer_throughput")
    config = trial_config(spec, {}, trial_number=0)

    # The Trainer's side: the same files, as the dict batches neuralop's loaders give.
    x, y = load_split(ensure_dataset(spec.data).train)

    class Pairs(Dataset):
        def __len__(self) -> int:
            return n_train

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            return {"x": x[i], "y": y[i]}

    torch.manual_seed(0)
    model = FNO(n_modes=(modes, modes), hidden_channels=width, in_channels=1, out_channels=1, n_layers=4)
    model = model.to(device)
    bf16 = precision == "bf16"
    if bf16:
        keep_spectral_fp32(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    trainer = Trainer(model=model, n_epochs=epochs, device=device, mixed_precision=bf16,
                      eval_interval=10**9, verbose=False)  # fmt: skip
    constant = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _epoch: 1.0)  # the trial's scheduler "none"
    trainer.optimizer, trainer.scheduler, trainer.regularizer = optimizer, constant, None
    loader = DataLoader(Pairs(), batch_size=batch, shuffle=True)
    loss = H1Loss(d=2)
    device_type = torch.device(device).type

    def trainer_dtype() -> contextlib.AbstractContextManager[Any]:
        # Entering an autocast (here disabled) sets the dtype that the Trainer's own
        # `torch.autocast(device_type)` inherits.
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=False) if bf16 else contextlib.nullcontext()

    trial = run_trial(config)
    next(trial)  # the run line
    trial_s, trainer_s = [], []
    for epoch in range(epochs):
        with trainer_dtype():
            trainer_s.append(trainer.train_one_epoch(epoch, loader, loss)[3])
        trial_s.append(next(trial).epoch_time_s)
    trial.close()

    tr, tn = statistics.median(trial_s[1:]), statistics.median(trainer_s[1:])
    return {
        "res": res, "width": width, "modes": modes, "n_train": n_train, "batch": batch, "epochs": epochs,
        "device": device, "precision": precision,
        "trainer_epoch_s": tn, "trial_epoch_s": tr,
        "trainer_samples_per_s": n_train / tn, "trial_samples_per_s": n_train / tr, "ratio": tn / tr,
        "trainer_epochs_s": trainer_s, "trial_epochs_s": trial_s,
    }  # fmt: skip


if __name__ == "__main__":
    main()
