"""Step time of an FNO training loop: plain ``clip_grad_norm_`` vs `StabilityMonitor`.

Three identical models (same initial weights, same data) train side by side, one loop
each. The loops' steps are interleaved, one step of each per round, rotating which goes
first, so that a burst of load from elsewhere on the machine hits all three alike; the
per-round ratios are robust to it. An epoch is ``--steps`` steps (default 32: 500
samples at batch 16); the monitored loop's ``end_epoch()`` (its one device read) is
timed within its epoch's last step.

- ``plain``: ``torch.nn.utils.clip_grad_norm_(model.parameters(), clip)``, the usual loop;
- ``plain-real``: the same clipping computed on real views of the complex gradients
  (``clip_grad_norm_``'s ``_foreach_norm`` is ~100x slower on complex tensors on a CPU,
  which the monitor avoids): the fastest plain loop, so the monitor's own overhead;
- ``monitored``: ``monitor.observe`` + the monitor's step pre-hook (measure, clip, accumulate).

Reported: ms per step of each loop, the median of the per-round ratios and the ratio of
mean step times, monitored/plain and monitored/plain-real (goal: <= 1.02), and the
monitor's isolated costs per step and per epoch.

    PYTHONPATH=src .venv/bin/python benchmarks/monitor_overhead.py --threads 1
    PYTHONPATH=src .venv/bin/python benchmarks/monitor_overhead.py --quick
    PYTHONPATH=src .venv/bin/python benchmarks/monitor_overhead.py --device cuda --size 64 [--precision bf16]

`measure(args)` returns the figures as a dict (benchmarks/gpu_check.py imports it).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from neuralop.losses import LpLoss
from neuralop.models import FNO

from fnosweep.monitor import StabilityMonitor
from fnosweep.trial.precision import forward_precision, keep_spectral_fp32


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--size", type=int, default=32, help="grid points per side")
    p.add_argument("--width", type=int, default=32, help="FNO hidden_channels")
    p.add_argument("--modes", type=int, default=12, help="Fourier modes per dimension")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=32, help="optimizer steps per repetition (an epoch)")
    p.add_argument("--reps", type=int, default=5, help="epochs of each loop, steps interleaved")
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads on a CPU")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="bf16: autocast forward")
    p.add_argument("--quick", action="store_true", help="16², width 16, 2 layers, 3 epochs of 8 steps, 1 thread")
    a = p.parse_args()
    if a.quick:
        a.size, a.width, a.modes, a.layers, a.steps, a.reps = 16, 16, 6, 2, 8, 3
        a.threads = a.threads or 1
    return a


def main() -> None:
    a = parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    report(measure(a))


def measure(a: argparse.Namespace) -> dict[str, Any]:
    """Time the three loops as `a` says (the options of `parse_args`); the figures as a dict."""
    device = torch.device(a.device)
    precision = getattr(a, "precision", "fp32")
    torch.manual_seed(0)
    base = FNO(
        n_modes=(a.modes, a.modes),
        hidden_channels=a.width,
        in_channels=1,
        out_channels=1,
        n_layers=a.layers,
    ).to(device)
    if precision == "bf16":
        keep_spectral_fp32(base)  # the copies below keep the hooks
    x = torch.randn(a.batch * a.steps, 1, a.size, a.size, device=device)
    y = torch.randn_like(x)
    loss_fn = LpLoss(d=2)  # relative L2, summed over the batch (neuralop's default)
    batches = list(zip(x.split(a.batch), y.split(a.batch), strict=True))

    def loop(
        clip: Callable[[list[torch.Tensor]], None] | None,
    ) -> tuple[Callable[[int], None], StabilityMonitor | None]:
        model = copy.deepcopy(base)
        params = list(model.parameters())
        optimizer = torch.optim.AdamW(params, lr=1e-3)
        monitor = None if clip else StabilityMonitor(model, optimizer, clip_threshold=a.clip)

        def step(i: int) -> None:
            xb, yb = batches[i % a.steps]
            optimizer.zero_grad(set_to_none=True)
            with forward_precision(precision, device):  # bf16: the forward only
                out = model(xb)
            loss = loss_fn(out.float(), yb)
            loss.backward()
            if monitor is None:
                clip(params)  # type: ignore[misc]
            else:
                monitor.observe(loss, batch_size=len(xb))  # device accumulation, no sync
            optimizer.step()  # monitored: the pre-step hook measures, clips, accumulates
            if monitor is not None and i % a.steps == a.steps - 1:
                monitor.end_epoch()  # the epoch's one device read, in its last step's time

        return step, monitor

    loops = {
        "plain": loop(lambda ps: torch.nn.utils.clip_grad_norm_(ps, a.clip)),
        "plain-real": loop(lambda ps: clip_real_views(ps, a.clip)),
        "monitored": loop(None),
    }
    for step, _ in loops.values():
        for i in range(a.steps):  # warm-up epoch: allocator, FFT plans, optimizer state
            step(i)
    # Step by step, the three loops in turn (rotating which goes first): a burst of load
    # from elsewhere on the machine hits the three steps of one round alike.
    times: dict[str, list[float]] = {name: [] for name in loops}
    names = list(loops)
    for i in range(a.reps * a.steps):
        for name in names[i % 3 :] + names[: i % 3]:
            times[name].append(timed(loops[name][0], i, device))

    monitor = loops["monitored"][1]
    assert monitor is not None
    costs = isolated_costs(monitor, loss_fn, batches[0], a.clip, device)
    monitor.close()
    ratios = {
        base_name: {
            "median_ratio": statistics.median(m / q for m, q in zip(times["monitored"], times[base_name], strict=True)),
            "ratio_of_means": sum(times["monitored"]) / sum(times[base_name]),
        }
        for base_name in ("plain", "plain-real")
    }
    return {
        "device": str(device), "threads": torch.get_num_threads(), "precision": precision,
        "size": a.size, "width": a.width, "modes": a.modes, "layers": a.layers, "batch": a.batch,
        "clip": a.clip, "reps": a.reps, "steps": a.steps,
        "ms_per_step": {name: {"median": statistics.median(ts) * 1e3, "mean": statistics.fmean(ts) * 1e3,
                               "min": min(ts) * 1e3, "max": max(ts) * 1e3} for name, ts in times.items()},
        "monitored_over": ratios,
        "isolated": {"clip_us": costs["clip"] * 1e6, "clip_real_us": costs["clip_real"] * 1e6,
                     "hook_us": costs["hook"] * 1e6, "hook_share_of_step": costs["hook"] / statistics.median(
                         times["plain-real"]), "end_epoch_ms": costs["end"] * 1e3},
    }  # fmt: skip


def report(fig: dict[str, Any]) -> None:
    print(
        f"device {fig['device']} ({fig['threads']} threads, {fig['precision']}): FNO {fig['size']}x{fig['size']}, "
        f"width {fig['width']}, modes {fig['modes']}, {fig['layers']} layers, batch {fig['batch']}, "
        f"AdamW, clip {fig['clip']}"
    )
    print(
        f"{fig['reps']} epochs of {fig['steps']} steps, the loops' steps interleaved "
        "(the monitored loop's end_epoch is in the time of its epoch's last step)"
    )
    for name, t in fig["ms_per_step"].items():
        print(
            f"  {name:<11} median {t['median']:8.2f} ms/step, "
            f"mean {t['mean']:8.2f} (min {t['min']:.2f}, max {t['max']:.2f})"
        )
    for base_name, r in fig["monitored_over"].items():
        print(
            f"  monitored/{base_name:<10} median of per-round ratios {r['median_ratio']:.4f}, "
            f"ratio of means {r['ratio_of_means']:.4f}   goal <= 1.02"
        )
    iso = fig["isolated"]
    print(
        f"isolated, per step: clip_grad_norm_ {iso['clip_us']:.0f} us, real-view clip "
        f"{iso['clip_real_us']:.0f} us, observe + monitor hook {iso['hook_us']:.0f} us "
        f"(= {iso['hook_share_of_step']:.2%} of a step); "
        f"per epoch: end_epoch {iso['end_epoch_ms']:.2f} ms"
    )


def clip_real_views(params: list[torch.Tensor], max_norm: float) -> None:
    """clip_grad_norm_'s algorithm on real views of the gradients (same result, faster on CPU)."""
    grads = [torch.view_as_real(p.grad) if p.grad.is_complex() else p.grad for p in params if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, (max_norm / (total + 1e-6)).clamp(max=1.0))


def timed(step: Callable[[int], None], i: int, device: torch.device) -> float:
    """Seconds of one step (device work included on CUDA)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step(i)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def isolated_costs(
    monitor: StabilityMonitor,
    loss_fn: LpLoss,
    batch: tuple[torch.Tensor, torch.Tensor],
    clip: float,
    device: torch.device,
) -> dict[str, float]:
    """The monitor's own costs, median seconds per call, with the gradients of one batch."""
    model, optimizer = monitor.model, monitor.optimizer
    optimizer.zero_grad()
    loss = loss_fn(model(batch[0]), batch[1])
    loss.backward()
    params = list(model.parameters())

    def hook() -> None:
        monitor.observe(loss, batch_size=len(batch[0]))
        monitor._before_step(optimizer, (), {})  # what optimizer.step() runs first

    return {
        "clip": repeat(lambda: torch.nn.utils.clip_grad_norm_(params, clip), device),
        "clip_real": repeat(lambda: clip_real_views(params, clip), device),
        "hook": repeat(hook, device),
        "end": repeat(monitor.end_epoch, device, n=30, before=hook),
    }


def repeat(
    fn: Callable[[], object],
    device: torch.device,
    n: int = 100,
    before: Callable[[], object] | None = None,
) -> float:
    """Median seconds per call (synchronised per call on CUDA, so it is device time too)."""
    times = []
    for _ in range(n):
        if before is not None:
            before()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()
