"""The epoch's clock and peak memory: from a start mark to the end of the epoch's last
optimizer step. On CUDA, events time the step's kernels (no host synchronisation until
the epoch's one read); elsewhere the host clock."""

from __future__ import annotations

import time

import torch

from fnosweep.monitor._grad_stats import peak_rss_bytes


class EpochClock:
    """Marks an epoch's start and each step's end on the monitored parameters' device."""

    def __init__(self) -> None:
        self._t_start = self._t_end = 0.0
        self._start_event: torch.cuda.Event | None = None
        self._end_event: torch.cuda.Event | None = None

    def mark_start(self, device: torch.device) -> None:
        """Start the epoch now (on CUDA also the peak-memory window)."""
        self._t_start = self._t_end = time.perf_counter()
        self._start_event = self._end_event = None
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            self._start_event = torch.cuda.Event(enable_timing=True)
            self._end_event = torch.cuda.Event(enable_timing=True)
            self._start_event.record()

    def step_ended(self) -> None:
        """An optimizer step ended (its post-hook): the epoch's end, so far."""
        self._t_end = time.perf_counter()  # host clock; on CUDA the event below is used instead
        if self._end_event is not None:
            self._end_event.record()  # async: timestamps the end of the step's kernels

    def seconds(self) -> float:
        """Start mark to the end of the last step (on CUDA: of its kernels, by events)."""
        if self._start_event is not None and self._end_event is not None:
            self._end_event.synchronize()  # already complete after end_epoch's read
            return self._start_event.elapsed_time(self._end_event) / 1e3  # ms -> s
        return self._t_end - self._t_start


def peak_memory(device: torch.device) -> int:
    """CUDA's peak allocation since the start mark; on a CPU the process's peak RSS."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))  # since the epoch's start mark
    return peak_rss_bytes()  # the process's peak so far: it cannot be reset per epoch
