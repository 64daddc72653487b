"""Training throughput: a fnosweep trial against `neuralop.Trainer`, side by side.

Same FNO, same Darcy data, same batch size, same AdamW; the two train in one process,
their epochs interleaved (trainer epoch, trial epoch, ...) so load on the machine hits
both alike. Each side's time is its training part only: the trial's `epoch_time_s`
(first step to last step, as the monitor measures it, evaluation excluded) and the
Trainer's own `epoch_train_time` from `train_one_epoch`. Epoch 0 is warm-up and dropped.

The trial also runs the stability monitor (gradient norms, groups, clip accounting)
and input/output normalisation; the Trainer does neither, but calls `loss.item()`
every batch. Goal (issue 4): trial samples/s >= 1.0x the Trainer's.

    .venv/bin/python benchmarks/trainer_throughput.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="16x16, width 16, 3 epochs: a few seconds")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = ap.parse_args()

    import torch
    from neuralop.losses import H1Loss
    from neuralop.models import FNO
    from neuralop.training import Trainer
    from torch.utils.data import DataLoader, Dataset

    from fnosweep.data import ensure_dataset, load_split
    from fnosweep.space import trial_config
    from fnosweep.spec import parse_spec
    from fnosweep.trial import run_trial

    torch.set_num_threads(args.threads)
    res, width, modes, n_train, epochs = (16, 16, 6, 64, 3) if args.quick else (32, 32, 12, 256, args.epochs)
    batch = 16
    root = Path(tempfile.mkdtemp(prefix="fnosweep-bench-"))
    doc = {
        "study": {"name": "throughput", "storage": f"sqlite:///{root}/s.db", "n_trials": 1},
        "data": {"root": str(root / "data"), "resolution": res, "n_train": n_train, "n_test": 16},
        "model": {"n_modes": [modes, modes], "hidden_channels": width, "n_layers": 4},
        "training": {"epochs": epochs, "batch_size": batch, "lr": 1e-3, "clip_threshold": None,
                     "scheduler": {"type": "none"}, "loss": "h1"},
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
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    trainer = Trainer(model=model, n_epochs=epochs, device="cpu", eval_interval=10**9, verbose=False)
    constant = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _epoch: 1.0)  # the trial's scheduler "none"
    trainer.optimizer, trainer.scheduler, trainer.regularizer = optimizer, constant, None
    loader = DataLoader(Pairs(), batch_size=batch, shuffle=True)
    loss = H1Loss(d=2)

    trial = run_trial(config)
    next(trial)  # the run line
    trial_s, trainer_s = [], []
    for epoch in range(epochs):
        trainer_s.append(trainer.train_one_epoch(epoch, loader, loss)[3])
        trial_s.append(next(trial).epoch_time_s)
    trial.close()

    tr, tn = statistics.median(trial_s[1:]), statistics.median(trainer_s[1:])
    print(f"config: {res}x{res} Darcy, FNO width {width}, modes {modes}, 4 layers, n_train {n_train}, "
          f"batch {batch}, AdamW, {epochs} epochs interleaved (epoch 0 dropped), torch threads {args.threads}")
    print(f"{'':<22}{'median epoch s':>16}{'samples/s':>12}")
    print(f"{'neuralop.Trainer':<22}{tn:>16.3f}{n_train / tn:>12.1f}")
    print(f"{'fnosweep trial':<22}{tr:>16.3f}{n_train / tr:>12.1f}")
    print(f"trial / Trainer samples/s: {tn / tr:.3f} (goal >= 1.0)")
    print("per-epoch s, trainer:", " ".join(f"{t:.3f}" for t in trainer_s))
    print("per-epoch s, trial:  ", " ".join(f"{t:.3f}" for t in trial_s))


if __name__ == "__main__":
    main()
