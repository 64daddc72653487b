"""The stability monitor: the metrics of DESIGN.md, measured on the device, in any loop.

`StabilityMonitor` is the public surface; the private modules hold its pure helpers
(`_grad_stats`, `_inputs`, `_record`: an epoch's record from its totals), its device
accumulators, its epoch clock (`_clock`) and its `neuralop.Trainer` hooks.
"""

from fnosweep.monitor._stability import StabilityMonitor

__all__ = ["StabilityMonitor"]
