"""Forced 2-D Navier–Stokes data, as in the FNO paper: x = w(t0), y = w(t0 + T) (t0 = 0
in the paper; a spin-up t0 > 0 starts from a developed, forced flow instead).

    w(·, 0) ~ N(0, 7^{3/2}(−Δ + 49I)^−2.5),   f = 0.1 (sin 2π(x+y) + cos 2π(x+y)),

solved by `fnosweep.data.spectral` (pseudo-spectral, 2/3 de-aliasing, CN–AB2).
Samples are simulated in batches; on the CPU, batches run on one thread each in a
small pool (one per core), since a single 64² batch cannot use two cores well.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from fnosweep.data.grf import NS_MODES, fourier_noise_to_rfft, sample_fourier_noise
from fnosweep.data.request import DataFieldError, check_arguments, check_spin_up
from fnosweep.data.spectral import (
    CFL_LIMIT,
    FORCING_AMPLITUDE,
    forcing,
    simulate,
    single_threaded,
    velocity_bound,
)
from fnosweep.errors import DataError

if TYPE_CHECKING:
    import torch

__all__ = [
    "FORCING_AMPLITUDE",
    "check_arguments",
    "check_cfl_estimate",
    "check_spin_up",
    "generate_navier_stokes",
    "simulate",
]

CFL_SAMPLES = 16  # initial fields used for the a-priori CFL estimate
Batch = dict[int, tuple["torch.Tensor", "torch.Tensor"]]


def generate_navier_stokes(
    *,
    n: int,
    resolution: int,
    seed: int,
    viscosity: float,
    t_final: float,
    dt: float,
    time_steps: int | None = None,
    t0: float = 0.0,
    resolutions: Sequence[int] = (),
    device: str = "cpu",
    dtype: str = "float32",
    batch_size: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """n forced Navier–Stokes samples: x = w(t0), y = w(t0 + t_final), or with
    `time_steps=K` the K snapshots w(t0 + j·t_final/K), j = 1..K. The spin-up to t0
    is t0/dt steps of the same solver (t0 = 0, the default: x is the initial field).

    Simulated once on the finest of {resolution, *resolutions}; each coarser grid
    that divides it is a point subsample (x_i = i/N lies on the fine grid); any other
    is simulated separately from the same initial fields. Returns {res: (x, y)} as
    float32 CPU tensors, x (n, res, res), y (n, res, res) or (n, K, res, res).
    The data do not depend on batch_size or workers.
    """
    import torch

    all_res = sorted({resolution, *resolutions})
    if n < 1:
        raise DataError(f"Navier–Stokes: n must be at least 1, but got n={n}")
    for r in all_res:
        if r < 4 or r % 2:
            raise DataError(f"Navier–Stokes: resolution must be even and at least 4, but got {r}")
    steps, record_every = check_arguments(viscosity, t_final, dt, time_steps)
    spin_up = check_spin_up(t0, dt)
    check_cfl_estimate(seed=seed, resolutions=all_res, t_final=t0 + t_final, dt=dt, viscosity=viscosity)
    on_cpu = torch.device(device).type == "cpu"
    # CPU: batches of 16 stay in cache; GPU: one large batch keeps the device busy.
    batch_size = batch_size or (16 if on_cpu else min(n, 1024))
    workers = workers or (_cpu_count() if on_cpu else 1)
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]

    def run(noise: np.ndarray) -> Batch:
        out: Batch = {}
        for grid, targets in simulation_grids(all_res).items():
            w0_hat = torch.from_numpy(fourier_noise_to_rfft(noise, grid, keep=grid // 3))
            w0 = torch.fft.irfft2(w0_hat, s=(grid, grid)).to(device=device, dtype=torch_dtype)
            f = torch.from_numpy(forcing(grid)).to(device=device, dtype=torch_dtype)
            if spin_up:  # the input snapshot is w(t0); the target run starts from it
                w0 = simulate(w0, viscosity=viscosity, dt=dt, steps=spin_up, record_every=spin_up, force=f)[:, -1]
            w = simulate(w0, viscosity=viscosity, dt=dt, steps=steps, record_every=record_every, force=f)
            w0, w = w0.float().cpu(), w.float().cpu()
            for r in targets:
                s = grid // r
                out[r] = (w0[:, ::s, ::s], w[:, :, ::s, ::s] if time_steps else w[:, -1, ::s, ::s])
        return out

    rng = np.random.default_rng(seed)
    results: list[Batch] = []
    pending: deque[tuple[int, Future[Batch]]] = deque()
    # The pool's threads share the process's torch thread setting: set it once here.
    with single_threaded(on_cpu), ThreadPoolExecutor(max_workers=workers) as pool:
        done = 0
        try:
            for start in range(0, n, batch_size):
                b = min(batch_size, n - start)
                # Noise is drawn in order on this thread: the data do not depend on scheduling.
                noise = sample_fourier_noise(rng, b, modes=NS_MODES)
                pending.append((b, pool.submit(run, noise)))
                while pending and (len(pending) > 2 * workers or start + b >= n):
                    size, future = pending.popleft()
                    results.append(future.result())
                    done += size
                    if progress is not None:
                        progress(done, n)
        except BaseException:
            for _, future in pending:  # e.g. a CFL failure: do not start the rest
                future.cancel()
            raise
    return {r: (torch.cat([b[r][0] for b in results]), torch.cat([b[r][1] for b in results])) for r in all_res}


def _cpu_count() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def simulation_grids(all_res: Sequence[int]) -> dict[int, list[int]]:
    """Which grids to simulate on, and which resolutions each serves by subsampling."""
    grids: dict[int, list[int]] = {}
    for r in sorted(all_res, reverse=True):
        host = next((g for g in grids if g % r == 0), None)
        grids.setdefault(host or r, []).append(r)
    return grids


def check_cfl_estimate(*, seed: int, resolutions: Sequence[int], t_final: float, dt: float, viscosity: float) -> None:
    """Refuse a dt that `velocity_bound` already says is unstable, before any work:
    estimated on the first CFL_SAMPLES initial fields of `seed`."""
    noise = sample_fourier_noise(np.random.default_rng(seed), CFL_SAMPLES, modes=NS_MODES)
    for grid in simulation_grids(resolutions):
        w0_hat = fourier_noise_to_rfft(noise, grid, keep=grid // 3)
        speed = velocity_bound(w0_hat, forcing(grid), t_final, viscosity=viscosity)
        cfl = dt * grid * speed
        if cfl > CFL_LIMIT:
            raise DataFieldError(
                f"Navier–Stokes: dt={dt:g} is unstable at resolution {grid}: estimated CFL "
                f"number dt·N·max(|u|+|v|) = {cfl:.3g} > {CFL_LIMIT} by t={t_final:g}; "
                f"use dt ≤ {CFL_LIMIT / (grid * speed):.3g}",
                "dt",
            )
