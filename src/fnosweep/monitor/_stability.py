"""StabilityMonitor: the stability metrics of DESIGN.md, measured on the device.

The monitor hooks the optimizer: a step *pre*-hook runs after ``loss.backward()`` and
before the parameters move, the one place where the pre-clip gradient is complete. It
measures the gradient there (per-tensor norms with one ``torch._foreach_norm``, group
and total norms from those), clips it like ``torch.nn.utils.clip_grad_norm_`` with the
norm it already has, and adds the step's figures to accumulators that live on the
device. Nothing is read back to the host until ``end_epoch``, which reads every
accumulator in one transfer (the epoch's only synchronisation).

Usage (any loop)::

    monitor = StabilityMonitor(model, optimizer, clip_threshold=1.0, history="run.jsonl")
    for epoch in range(epochs):
        monitor.start_epoch()                        # optional: starts the epoch clock
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)              # batch-summed, as neuralop's losses
            loss.backward()
            monitor.observe(loss, batch_size=len(x))  # no host sync
            optimizer.step()                         # pre-step hook: measure, clip, accumulate
        record = monitor.end_epoch(eval={"32_l2": l2})  # one read from the device
    monitor.close()

With ``neuralop.Trainer``: ``monitor.attach(trainer)`` (see `StabilityMonitor.attach`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from fnosweep.errors import MonitorError
from fnosweep.history import EpochRecord, RunInfo, append_line
from fnosweep.monitor import _trainer_hooks
from fnosweep.monitor._accumulators import EpochAccumulators
from fnosweep.monitor._clock import EpochClock, peak_memory
from fnosweep.monitor._grad_stats import group_membership
from fnosweep.monitor._inputs import (
    Reduction,
    build_run_info,
    check_clip_threshold,
    check_count,
    check_eval,
    check_history_path,
    check_reduction,
    select_parameters,
)
from fnosweep.monitor._record import epoch_record

if TYPE_CHECKING:
    import os
    from types import TracebackType

DEFAULT_MAX_EXACT_STEPS = 16384
"""Per-step total norms kept per epoch: median and p95 are exact up to this many steps
(64 KiB of float32 on the device). Beyond it the buffer keeps every 2nd, then every 4th,
... step (a deterministic strided subsample of between half and all of the buffer), so
median and p95 are those of a systematic sample; max stays exact (a running max)."""


class StabilityMonitor:
    """Measures (and optionally clips) the gradients of ``model`` at every step of
    ``optimizer``, and summarises each epoch as a `fnosweep.history.EpochRecord`.

    Args:
        model: the trained module. Its trainable parameters that ``optimizer`` holds are
            monitored; their names give the layer groups (``lifting``, ``fno_blocks``,
            ``projection``, ``fno_blocks.0``, ...; any other model: the first name
            component). Build the monitor after moving the model to its device (moving it
            between epochs is fine, within an epoch it is an error).
        optimizer: the optimizer that steps ``model``; the monitor registers a step pre-hook
            (measure, clip) and a step post-hook (epoch clock) on it until `close`.
        clip_threshold: max total L2 norm of the gradient (``> 0``), applied like
            ``clip_grad_norm_(params, clip_threshold)``; ``None`` measures without clipping.
        history: a JSON Lines history file to create (DESIGN.md format). Its directory
            must exist and the file must be new or empty; the run line is written here,
            at construction, and one epoch line per `end_epoch`.
        run_info: what the run is (``n_train``, ``batch_size``, ``loss``, ``scheduler``,
            ...; a dict or `RunInfo`; unknown keys are kept). The monitor fills in
            ``n_params`` (complex weights count twice, as neuralop counts),
            ``n_param_elements``, ``clip_threshold`` and, unless given, ``optimizer``,
            ``lr`` and ``weight_decay``.
        skip_nonfinite: skip a step whose loss or gradient holds NaN/Inf (the non-finite
            guard of torchtitan and Lightning). The step's gradients are set to ``None``,
            so torch.optim optimizers leave that step's parameters, moments (Adam's
            ``exp_avg``, ``exp_avg_sq``) and step counts exactly as they were; a
            scheduler still advances. Cost: deciding it reads one flag from the device per
            step (the only per-step host synchronisation, and only with this option).
        max_exact_steps: size of the per-epoch buffer of total norms (rounded up to even);
            see `DEFAULT_MAX_EXACT_STEPS` for the approximation beyond it.
        reduction: how the loss given to `observe` reduces over the batch: ``"sum"``
            (neuralop's losses, the default) or ``"mean"``.

    What a record holds, and the fine print:

    - ``grad_norm``: the total L2 norm of the gradient before clipping (complex weights:
      ``sqrt(sum |z|^2)``), ``median``/``p95``/``max`` over the epoch's steps whose norm
      is finite, and ``first`` (the first step's, as measured). ``groups``: the same norm
      per layer group, ``mean``/``max`` over finite steps (NaN when no step was finite).
    - ``clip_fraction``: steps whose clip coefficient was < 1, as ``clip_grad_norm_``
      decides it; None without a threshold.
    - ``nonfinite_steps``: steps whose observed loss or whose gradient norm was NaN/Inf
      (a norm overflowing float32 counts); ``nonfinite_loss_steps``: those with a
      non-finite loss (None when `observe` was never called).
    - ``lr``: the first param group's lr at the epoch's last step.
    - ``weight_norm``, ``update_ratio``: ``||w_end||`` and ``||w_end - w_start|| /
      ||w_start||`` over the monitored parameters. Memory: one copy of those parameters,
      taken on the device at the epoch's first step.
    - ``epoch_time_s``: from the start mark (creation, the previous `end_epoch`, or
      `start_epoch`) to the end of the epoch's last optimizer step; ``samples_per_s``
      divides the observed samples by it. ``peak_mem_bytes``: CUDA's
      ``max_memory_allocated`` since the start mark; on a CPU the process's peak RSS.
    - Gradient accumulation: `observe` every micro-batch, step once; ``train_err`` is
      then per micro-batch. ``torch.amp.GradScaler``: the hook sees unscaled gradients,
      and steps the scaler skips are not steps (the hook does not run).
    - bf16: under autocast the gradients of float32 weights are float32; gradients (and
      weights) of a model cast to bf16/fp16 are measured in float32 all the same, and
      clipped in place in their own dtype. `fnosweep.trial.precision` has the forward's recipe.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        clip_threshold: float | None = None,
        history: str | os.PathLike[str] | None = None,
        run_info: Mapping[str, Any] | RunInfo | None = None,
        skip_nonfinite: bool = False,
        max_exact_steps: int = DEFAULT_MAX_EXACT_STEPS,
        reduction: Reduction = "sum",
    ) -> None:
        monitored = select_parameters(model, optimizer)
        self._clip = check_clip_threshold(clip_threshold)
        self._reduction = check_reduction(reduction)
        capacity = check_count("max_exact_steps", max_exact_steps, 2)
        self._capacity = capacity + capacity % 2  # even: see EpochAccumulators._record_norm
        self._skip_nonfinite = bool(skip_nonfinite)
        self._names = [n for n, _ in monitored]
        self._params = [p for _, p in monitored]
        norms_per_block = getattr(getattr(model, "fno_blocks", None), "n_norms", 2)
        self._groups, self._members = group_membership(self._names, norms_per_block)

        self.model = model
        self.optimizer = optimizer
        self.records: list[EpochRecord] = []
        """The records of the epochs ended so far."""
        self._run_info = build_run_info(model, optimizer, self._clip, run_info)
        self._history = check_history_path(history)
        if self._history is not None:
            _append(self._history, self._run_info.to_dict())  # the run line: written once, here

        self._acc = EpochAccumulators(self._params, self._members, self._capacity)
        self._lr: float | Tensor | None = None
        self._last_epoch = -1
        self._closed = False
        self._trainer: Any = None
        self._clock = EpochClock()
        self._mark_start()
        self._hooks = [
            optimizer.register_step_pre_hook(self._before_step),
            optimizer.register_step_post_hook(self._after_step),
        ]

    # -- public API ---------------------------------------------------------------------------

    @property
    def run_info(self) -> RunInfo:
        """What the run is, with the parameter counts the monitor measured (the run line)."""
        return self._run_info

    @property
    def group_names(self) -> list[str]:
        """The layer groups of ``EpochRecord.groups``, in order."""
        return list(self._groups)

    def group_parameters(self, group: str) -> list[str]:
        """The names of the parameters one layer group measures."""
        return [self._names[i] for i in self._members[self._groups.index(group)]]

    def start_epoch(self) -> None:
        """Start the epoch clock (and the CUDA peak-memory window) now.

        Optional: without it an epoch is timed from the monitor's creation or from the
        previous `end_epoch` to the end of the epoch's last optimizer step. Call it at the
        top of the epoch loop when something slow before the epoch (a generator's pause,
        evaluation after `end_epoch`) must not count.
        """
        if self._acc.steps or self._acc.batches:
            raise MonitorError(f"start_epoch() after {self._acc.steps} steps of this epoch; call end_epoch() first")
        self._ensure_device()
        self._mark_start()

    @torch.no_grad()
    def observe(self, loss: Tensor, *, batch_size: int, reduction: Reduction | None = None) -> None:
        """Record one batch's training loss, on the device (no host synchronisation).

        Call it once per batch, before ``optimizer.step()`` (after ``backward`` is fine).
        ``loss`` is the loss the loop trains on: by default the batch *sum* of per-sample
        losses, as neuralop's ``LpLoss``/``H1Loss`` give it; pass ``reduction="mean"``
        (here or to the constructor) for a batch mean. The record's ``train_loss`` is the
        mean per sample (sum of batch sums / samples) and ``train_err`` neuralop's figure
        (sum of batch sums / batches). A non-finite loss marks the next step non-finite.
        """
        if self._closed:
            raise MonitorError("observe() on a closed monitor")
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            got = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
            raise MonitorError(f"observe() needs the batch's loss as a one-element tensor, got {got}")
        check_count("batch_size", batch_size, 1)
        mean = check_reduction(reduction or self._reduction) == "mean"
        self._ensure_device()
        batch_sum = loss.detach().reshape(())
        if mean:
            batch_sum = batch_sum * batch_size  # mean over the batch -> batch sum
        self._acc.add_loss(batch_sum, batch_size)

    @torch.no_grad()
    def end_epoch(
        self,
        eval: Mapping[str, float | Tensor | None] | None = None,
        *,
        epoch: int | None = None,
        eval_time_s: float | None = None,
    ) -> EpochRecord:
        """Close the epoch: read its accumulators from the device (one transfer), build
        its `EpochRecord`, append it to the history file, and start the next epoch.

        Args:
            eval: evaluation losses per sample, keyed ``{resolution}_{loss}`` (floats or
                one-element tensors; tensors are read after the one transfer, when the
                device is idle).
            epoch: the epoch's index (default: the previous one + 1, from 0).
            eval_time_s: wall time of the evaluation, when the caller measured it.
        """
        acc = self._acc
        if acc.steps == 0:
            raise MonitorError(
                "end_epoch() with no optimizer step this epoch: call optimizer.step() "
                "(after monitor.observe()) in the loop before ending the epoch"
            )
        index = self._last_epoch + 1 if epoch is None else epoch
        if isinstance(index, bool) or not isinstance(index, int) or index <= self._last_epoch:
            raise MonitorError(
                f"epoch must be a whole number > {self._last_epoch} (the previous epoch), but got {epoch!r}"
            )
        eval_values = check_eval(eval)
        tensors = {k: v for k, v in eval_values.items() if isinstance(v, Tensor)}
        t = acc.read(extra=list(tensors.values()))  # THE host synchronisation of the epoch
        eval_values.update(zip(tensors, t.extra, strict=True))  # keys keep their order
        seconds = self._clock.seconds()
        record = epoch_record(
            index, acc, t, groups=self._groups, eval_values=eval_values,
            lr=float(self._lr) if self._lr is not None else None, clipping=self._clip is not None,
            seconds=seconds, eval_time_s=eval_time_s, peak_mem_bytes=peak_memory(acc.device),
        )  # fmt: skip
        self.records.append(record)
        self._last_epoch = index
        acc.reset()
        self._lr = None
        self._mark_start()
        if self._history is not None:
            _append(self._history, record.to_dict())
        return record

    def attach(self, trainer: Any) -> StabilityMonitor:
        """Monitor a ``neuralop.Trainer``'s training; returns the monitor.

        ``StabilityMonitor(model, optimizer, clip_threshold=1.0).attach(trainer)``, then
        ``trainer.train(..., optimizer=optimizer, ...)`` as usual: every batch's loss is
        observed (with its batch size and the training loss's ``reduction``), each
        epoch's clock starts with the epoch, and each epoch ends (one record, one history
        line) right after the Trainer's evaluation of it, with the evaluation figures as
        ``eval``; an epoch the Trainer does not evaluate ends when the next one starts or
        when ``train`` returns. The Trainer's own ``loss.item()`` per batch stays (it is
        neuralop's). `close` restores the Trainer's methods.
        """
        if self._trainer is not None:
            raise MonitorError("this monitor is already attached to a Trainer")
        _trainer_hooks.attach(self, trainer)
        self._trainer = trainer
        return self

    def close(self) -> None:
        """Remove the optimizer hooks (and a Trainer's wrappers). Safe to call twice."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        if self._trainer is not None:
            _trainer_hooks.detach(self._trainer)
            self._trainer = None
        self._closed = True

    def __enter__(self) -> StabilityMonitor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the optimizer hooks: device work only (no host synchronisation) ------------------------

    @torch.no_grad()
    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self._ensure_device()
        ok, coef, grads = self._acc.add_step(self._clip, skip_nonfinite=self._skip_nonfinite)
        lr = optimizer.param_groups[0]["lr"]  # the lr this step uses (first param group)
        # A tensor lr is copied on the device (schedulers update it in place), read at end_epoch.
        self._lr = lr.detach().clone() if isinstance(lr, Tensor) else lr
        if self._skip_nonfinite and not bool(ok):  # opt-in host sync: one flag per step
            for p in self._params:
                p.grad = None  # torch.optim skips parameters without a gradient: an exact skip
            self._acc.skip()  # its loss stays out of train_loss: the mean over steps taken
        elif coef is not None:
            torch._foreach_mul_(grads, coef)  # clip in place (real views), with the norm we have

    def _after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self._clock.step_ended()

    # -- device -------------------------------------------------------------------------

    def _ensure_device(self) -> None:
        """Follow the parameters to a new device between epochs (a host check only)."""
        device = self._params[0].device
        if device == self._acc.device:
            return
        if self._acc.steps or self._acc.batches:
            raise MonitorError(f"the model moved from {self._acc.device} to {device} in the middle of an epoch")
        self._acc = EpochAccumulators(self._params, self._members, self._capacity)

    def _mark_start(self) -> None:
        self._clock.mark_start(self._acc.device)


def _append(path: Path, line: Mapping[str, Any]) -> None:
    try:
        append_line(path, line)
    except OSError as e:
        raise MonitorError(f"{path}: cannot write the history ({e.strerror or e})") from None
