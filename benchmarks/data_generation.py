"""Throughput of fnosweep's PDE data generators, against the goals of issue 6:
1 000 Darcy samples at 64² in ≤ 1 minute, 1 000 Navier–Stokes samples at 64² to T = 10
(ν = 1e-3) in ≤ 10 minutes, on the project's 2-core CPU.

    PYTHONPATH=src .venv/bin/python benchmarks/data_generation.py [--quick] [--device cuda]

Each figure is a timed batch; the 1 000-sample times are extrapolated from it (the
generators cost the same per sample after the first batch). `--quick` times a few
samples and, for Navier–Stokes, only the first 1 % of the steps, extrapolating in
the number of steps too: seconds, for a smoke test. Wall time depends on what else
the machine runs: the load average is printed with the figures, and CPU seconds
beside the wall seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    what: str
    samples: int
    wall_s: float
    cpu_s: float
    scale: float = 1.0  # work of the real task / work timed (steps extrapolation)

    @property
    def per_sample_s(self) -> float:
        return self.wall_s * self.scale / self.samples

    def row(self, goal_s: float | None) -> str:
        total = 1000 * self.per_sample_s
        verdict = "" if goal_s is None else ("meets" if total <= goal_s else "misses") + f" ≤ {goal_s:g} s"
        return (
            f"| {self.what} | {self.samples} | {self.wall_s:.2f} | {self.cpu_s:.2f} | "
            f"{1 / self.per_sample_s:.2f} | {total:.0f} {verdict} |"
        )


def timed(what: str, samples: int, run: Callable[[], object], scale: float = 1.0) -> Figure:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return Figure(what, samples, time.perf_counter() - wall, time.process_time() - cpu, scale)


def largest_dt(t_final: float, viscosity: float, resolution: int = 64) -> float:
    """The largest dt = t_final/steps that `check_cfl_estimate` accepts for data.seed 0 at ν = 1e-3;
    `viscosity` is the one the estimate is told: 0 gives the old linear growth, τ = t."""
    import math

    import numpy as np

    from fnosweep.data.generation import split_seed
    from fnosweep.data.grf import NS_MODES, fourier_noise_to_rfft, sample_fourier_noise
    from fnosweep.data.navier_stokes import CFL_SAMPLES
    from fnosweep.data.spectral import CFL_LIMIT, forcing, velocity_bound

    noise = sample_fourier_noise(np.random.default_rng(split_seed(0, "train")), CFL_SAMPLES, modes=NS_MODES)
    w0_hat = fourier_noise_to_rfft(noise, resolution, keep=resolution // 3)
    speed = velocity_bound(w0_hat, forcing(resolution), t_final, viscosity=viscosity)
    return t_final / math.ceil(t_final * resolution * speed / CFL_LIMIT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: tiny batches, 1 %% of NS steps")
    parser.add_argument("--device", default="cpu", help="torch device of the Navier–Stokes solver")
    parser.add_argument("--ns-samples", type=int, default=32, help="Navier–Stokes samples timed")
    parser.add_argument("--darcy-samples", type=int, default=200, help="Darcy samples timed")
    args = parser.parse_args()

    import torch

    from fnosweep.data.darcy import generate_darcy
    from fnosweep.data.navier_stokes import generate_navier_stokes

    load_before = os.getloadavg()
    figures: list[tuple[Figure, float | None]] = []

    darcy_n = 8 if args.quick else args.darcy_samples
    generate_darcy(n=1, resolution=8, seed=0)  # imports and caches out of the timing
    for res in (32, 64):
        run = lambda res=res: generate_darcy(n=darcy_n, resolution=res, seed=0)  # noqa: E731
        figures.append((timed(f"Darcy {res}²", darcy_n, run), 60.0 if res == 64 else None))

    ns_n = 4 if args.quick else args.ns_samples

    def navier_stokes(t_final: float, dt: float, what: str, goal: float | None) -> Figure:
        steps = round(t_final / dt)
        timed_steps = max(steps // 100, 1) if args.quick else steps

        def run() -> object:
            return generate_navier_stokes(
                n=ns_n, resolution=64, seed=0, viscosity=1e-3, t_final=timed_steps * dt, dt=dt, device=args.device
            )

        label = f"Navier–Stokes 64², T={t_final:g}, ν=1e-3, {what} ({args.device})"
        figure = timed(label, ns_n, run, steps / timed_steps)
        figures.append((figure, goal))
        return figure

    for dt in (1e-3, 1e-2):
        navier_stokes(10.0, dt, f"dt={dt:g}", 600.0)
    # Issue 21: the largest dt each CFL estimate accepts (before: the forcing's velocity grows
    # linearly to T; after: it saturates at the slowest viscous decay), side by side.
    speedups = []
    for t_final in (10.0, 50.0):
        before, after = (largest_dt(t_final, viscosity) for viscosity in (0.0, 1e-3))
        old = navier_stokes(t_final, before, f"dt={before:.4g} (largest the old estimate accepts)", None)
        new = navier_stokes(t_final, after, f"dt={after:.4g} (largest the new estimate accepts)", None)
        cpu = (old.cpu_s * old.scale) / (new.cpu_s * new.scale)
        speedups.append(f"T={t_final:g}: {old.per_sample_s / new.per_sample_s:.2f}× faster in wall time, "
                        f"{cpu:.2f}× in CPU time ({round(t_final / before)} → {round(t_final / after)} steps)")

    print(f"# fnosweep data generation ({'quick' if args.quick else 'full'})")
    print(
        f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"load average {load_before[0]:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(args.device)}")
    print()
    print("| generator | samples timed | wall s | CPU s | samples/s | 1 000 samples, s (extrapolated) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for figure, goal in figures:
        print(figure.row(None if args.quick else goal))  # tiny quick batches judge nothing
    print("\nNavier–Stokes at the largest dt of the new CFL estimate against the old one's: " + "; ".join(speedups))
    if args.quick:
        print("\nquick: a smoke test; Navier–Stokes timed over 1 % of its steps and extrapolated.")


if __name__ == "__main__":
    main()
