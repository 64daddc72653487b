"""One FNO training run (torch, neuralop): `run_trial(config)` yields its RunInfo, then a
record per epoch. `precision` holds the forward's fp32 / bf16 recipe, shared with the
benchmarks that train beside it."""

from fnosweep.trial._run import run_trial

__all__ = ["run_trial"]
