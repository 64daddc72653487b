"""The monitor's per-epoch device state: every per-step figure accumulates here, on the
device of the parameters, and is read back to the host once, by `EpochAccumulators.read`.

Nothing in `add_loss` or `add_step` reads a tensor on the host (no ``.item()``, no
``bool(tensor)``, no data-dependent Python branch): on CUDA they only queue kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

_LOW_PRECISION = (torch.bfloat16, torch.float16)
"""Gradient and weight dtypes the monitor measures in float32 (a model cast to bf16)."""

_CLIP_EPS = 1e-6
"""Added to the norm in the clip coefficient, as ``torch.nn.utils.clip_grad_norm_`` does."""


@dataclass(frozen=True)
class EpochTotals:
    """An epoch's accumulators, read to the host (plain Python numbers)."""

    loss_sum: float
    """Sum over the counted batches of the batch-summed loss: every observed batch but
    those of steps the non-finite guard skipped."""
    max_norm: float
    """Max total gradient norm over finite steps (0 when none)."""
    first_norm: float
    """The epoch's first step's total gradient norm, as measured (NaN/Inf kept)."""
    weight_norm: float
    start_weight_norm: float
    update_norm: float
    """||w_end - w_start||, L2 over all monitored parameters (complex: both parts)."""
    nonfinite_steps: int
    nonfinite_loss_steps: int
    finite_steps: int
    clipped_steps: int
    group_sum: list[float]
    """Per group: sum over finite steps of the group's gradient norm."""
    group_max: list[float]
    norms: list[float]
    """The recorded per-step total norms (all steps, or the strided subsample)."""
    extra: list[float]
    """The caller's one-element tensors given to `read` (e.g. evaluation losses), in order."""


class EpochAccumulators:
    """Device tensors (and host step counters) of one epoch, where the parameters are.

    Memory: one copy of the monitored parameters (the start-of-epoch weights, for the
    update ratio), ``capacity`` norms, and a few vectors of the number of groups.
    """

    def __init__(self, params: list[Tensor], members: list[list[int]], capacity: int) -> None:
        self.params = params
        self.device = params[0].device
        self.capacity = capacity  # even: see _record_norm
        self._complex = [p.is_complex() for p in params]
        real = [p.real.dtype if p.is_complex() else p.dtype for p in params]
        self._norm_dtype = torch.float64 if torch.float64 in real else torch.float32
        acc = torch.float32 if self.device.type == "mps" else torch.float64  # MPS has no float64
        self._acc_dtype = acc
        # Row 0 sums every tensor (the total), row 1 + g the tensors of group g: one mv gives
        # [total, group 0, group 1, ...] squared norms from the per-tensor squared norms.
        membership = torch.zeros(1 + len(members), len(params), dtype=self._norm_dtype)
        membership[0] = 1.0
        for g, indices in enumerate(members):
            membership[1 + g, indices] = 1.0
        self._membership = membership.to(self.device)
        self._zero = torch.zeros((), dtype=self._norm_dtype, device=self.device)
        self._false = torch.zeros((), dtype=torch.bool, device=self.device)
        self._loss_sum = torch.zeros((), dtype=acc, device=self.device)
        # Losses observed since the last step: committed to _loss_sum by that step, or
        # left out when the guard skips it (a skipped step's NaN must not poison the mean).
        self._pending_sum = torch.zeros((), dtype=acc, device=self.device)
        # counts: non-finite steps, non-finite loss steps, finite-gradient steps, clipped steps
        self._counts = torch.zeros(4, dtype=acc, device=self.device)
        self._first = torch.zeros((), dtype=self._norm_dtype, device=self.device)
        # [total, groups...]: sum and max over the finite steps
        self._sum = torch.zeros(1 + len(members), dtype=acc, device=self.device)
        self._max = torch.zeros(1 + len(members), dtype=self._norm_dtype, device=self.device)
        self._buf = torch.zeros(capacity, dtype=self._norm_dtype, device=self.device)
        self._start = [torch.empty_like(p) for p in _real_views(params)]
        self._loss_ok: Tensor | None = None
        self._zero_counts()

    def _zero_counts(self) -> None:
        self.steps = self.batches = self.samples = self.skipped = 0
        self.loss_batches = self.loss_samples = 0
        """Batches and samples whose losses `_loss_sum` holds (the skipped steps' left out)."""
        self._pending_batches = self._pending_samples = 0
        self._committed = (0, 0)  # (batches, samples) the last step moved to the loss counts
        self._buf_pos, self._stride = 0, 1

    def reset(self) -> None:
        for t in (self._loss_sum, self._pending_sum, self._counts, self._first, self._sum, self._max):
            t.zero_()
        self._loss_ok = None
        self._zero_counts()

    def add_loss(self, batch_sum: Tensor, batch_size: int) -> None:
        """One batch's loss, summed over the batch (a 0-d tensor)."""
        self._pending_sum.add_(batch_sum)
        ok = batch_sum.isfinite()
        self._loss_ok = ok if self._loss_ok is None else self._loss_ok & ok
        self.batches += 1
        self.samples += batch_size
        self._pending_batches += 1
        self._pending_samples += batch_size

    def add_step(
        self, clip: float | None, *, skip_nonfinite: bool = False
    ) -> tuple[Tensor, Tensor | None, list[Tensor]]:
        """Measure the current gradients (pre-clip) and accumulate the step.

        Returns (the step's "loss and gradient finite" flag, the clip coefficient or None,
        the gradients as real views to multiply by it). Clipping itself is the caller's.
        With `skip_nonfinite` the losses observed since the last step are summed only if
        the step is finite (on the device); the caller that skips the step then calls
        `skip`, which takes them out of the loss counts too.
        """
        if self.steps == 0:  # start-of-epoch weights: unchanged until this first step
            torch._foreach_copy_(self._start, _real_views(self.params))
        # Real views of complex gradients: the same norm sqrt(sum |z|^2), and _foreach_norm on
        # complex tensors is ~100x slower on CPU (it dominates clip_grad_norm_ on an FNO).
        grads = [
            torch.view_as_real(p.grad) if c and p.grad is not None else p.grad
            for p, c in zip(self.params, self._complex, strict=True)
        ]
        present = [g for g in grads if g is not None]
        measured = _at_least_fp32(present)  # the clip multiplies `present`, the grads themselves
        if len(present) == len(grads):
            norms = list(torch._foreach_norm(measured))
        else:  # parameters without a gradient this step count as zero
            computed = iter(torch._foreach_norm(measured) if measured else ())
            norms = [next(computed) if g is not None else self._zero for g in grads]
        sq = torch.stack(norms).to(self._norm_dtype).square()
        norms_now = torch.mv(self._membership, sq).sqrt()  # [total, groups...], pre-clip
        total = norms_now[0]  # = clip_grad_norm_'s return value
        finite = total.isfinite()
        ok = finite if self._loss_ok is None else finite & self._loss_ok
        loss_bad = self._false if self._loss_ok is None else ~self._loss_ok
        self._loss_ok = None
        pending = torch.where(ok, self._pending_sum, 0.0) if skip_nonfinite else self._pending_sum
        self._loss_sum.add_(pending)
        self._pending_sum.zero_()
        self._committed = (self._pending_batches, self._pending_samples)
        self.loss_batches += self._pending_batches
        self.loss_samples += self._pending_samples
        self._pending_batches = self._pending_samples = 0
        coef, clipped = None, self._false
        if clip is not None:
            coef = (clip / (total + _CLIP_EPS)).clamp(max=1.0)
            clipped = coef < 1.0

        # Non-finite steps are counted, and kept out of the norm statistics.
        self._counts.add_(torch.stack((~ok, loss_bad, finite, clipped)))
        counted = torch.where(finite, norms_now, 0.0)
        self._sum.add_(counted)
        torch.maximum(self._max, counted, out=self._max)
        if self.steps == 0:
            self._first.copy_(total)
        self._record_norm(total)
        self.steps += 1
        return ok, coef, present

    def skip(self) -> None:
        """The step just accumulated is skipped: its losses leave the loss counts (their
        sum was already left out on the device by `add_step(..., skip_nonfinite=True)`)."""
        batches, samples = self._committed
        self.loss_batches -= batches
        self.loss_samples -= samples
        self._committed = (0, 0)
        self.skipped += 1

    def _record_norm(self, total: Tensor) -> None:
        """Keep every step's norm up to capacity; then every 2nd, 4th, ... step (strided)."""
        if self.steps % self._stride:
            return
        if self._buf_pos == self.capacity:
            half = self.capacity // 2  # capacity even: kept steps stay multiples of the stride
            self._buf[:half].copy_(self._buf[0::2].clone())  # clone: source and target overlap
            self._buf_pos, self._stride = half, self._stride * 2
        self._buf[self._buf_pos] = total
        self._buf_pos += 1

    def read(self, extra: Sequence[Tensor] = ()) -> EpochTotals:
        """Everything, with the caller's one-element tensors `extra`, in one
        device-to-host transfer (the epoch's synchronisation).

        Also turns the start-of-epoch copy into w_start - w_end (it is rewritten at the
        next epoch's first step), so the update norm needs no second copy.
        """
        acc = self._acc_dtype
        params = _real_views(self.params)
        w1, w0 = _total_norm(params, acc), _total_norm(self._start, acc)
        torch._foreach_sub_(self._start, params)
        dw = _total_norm(self._start, acc)
        # Losses observed after the epoch's last step count as a step would take them.
        self.loss_batches += self._pending_batches
        self.loss_samples += self._pending_samples
        self._pending_batches = self._pending_samples = 0
        loss_sum = self._loss_sum + self._pending_sum
        scalars = torch.stack((loss_sum, self._max[0].to(acc), self._first.to(acc), w1, w0, dw))
        gsum, gmax = self._sum[1:], self._max[1:].to(acc)
        norms = self._buf[: self._buf_pos].to(acc)
        more = [t.detach().reshape(1).to(device=self.device, dtype=acc) for t in extra]
        values = torch.cat([scalars, self._counts, gsum, gmax, norms, *more]).tolist()  # THE sync
        g, n = len(gsum), len(norms)
        bad, bad_loss, finite, clipped = (int(v) for v in values[6:10])
        return EpochTotals(
            loss_sum=values[0],
            max_norm=values[1],
            first_norm=values[2],
            weight_norm=values[3],
            start_weight_norm=values[4],
            update_norm=values[5],
            nonfinite_steps=bad,
            nonfinite_loss_steps=bad_loss,
            finite_steps=finite,
            clipped_steps=clipped,
            group_sum=values[10 : 10 + g],
            group_max=values[10 + g : 10 + 2 * g],
            norms=values[10 + 2 * g : 10 + 2 * g + n],
            extra=values[10 + 2 * g + n :],
        )


def _real_views(tensors: list[Tensor]) -> list[Tensor]:
    """Complex tensors as real (..., 2) views (no copy); others as they are."""
    return [torch.view_as_real(t) if t.is_complex() else t for t in tensors]


def _at_least_fp32(tensors: list[Tensor]) -> list[Tensor]:
    """bf16/fp16 tensors upcast to float32 (a copy), others as they are: a norm computed in
    bf16 keeps ~3 significant digits, and in fp16 overflows past 65504."""
    return [t.float() if t.dtype in _LOW_PRECISION else t for t in tensors]


def _total_norm(tensors: list[Tensor], dtype: torch.dtype) -> Tensor:
    return torch.stack(torch._foreach_norm(_at_least_fp32(tensors))).to(dtype).square().sum().sqrt()
