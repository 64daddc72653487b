"""How close the Navier–Stokes generator's up-front CFL estimate is to the flow it refuses
or accepts: the true max of |u|+|v| over a real run against the old estimate (the forcing's
velocity growing linearly to t) and the new one (saturating at the slowest viscous decay).

    PYTHONPATH=src .venv/bin/python benchmarks/cfl_estimate.py [--quick]

Four initial fields of data.seed 0 (the train split), 32² (the velocity is large-scale:
64² gives the same max to 1 %), dt = 0.01, the run-time check on. The figures do not
depend on the machine or its load: only the seconds do.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def speeds(w: np.ndarray) -> np.ndarray:
    """max over the grid of |u|+|v| of vorticity fields (..., N, N)."""
    res = w.shape[-1]
    kx = 2 * np.pi * np.fft.fftfreq(res, 1 / res)[:, None]
    ky = 2 * np.pi * np.fft.rfftfreq(res, 1 / res)[None, :]
    lap = kx**2 + ky**2
    inv = np.where(lap > 0, 1 / np.where(lap > 0, lap, 1), 0)
    w_hat = np.fft.rfft2(w)
    u = np.fft.irfft2(1j * ky * inv * w_hat, s=(res, res))
    v = np.fft.irfft2(-1j * kx * inv * w_hat, s=(res, res))
    return (np.abs(u) + np.abs(v)).max(axis=(-2, -1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ν = 1e-3 to T = 10 only")
    args = parser.parse_args()

    import torch

    from fnosweep.data.generation import split_seed
    from fnosweep.data.grf import NS_MODES, fourier_noise_to_rfft, sample_fourier_noise
    from fnosweep.data.spectral import forcing, simulate, velocity_bound

    res, dt, every = 32, 1e-2, 10
    t_final = 10.0 if args.quick else 50.0
    viscosities = (1e-3,) if args.quick else (1e-3, 1e-4, 1e-5)
    noise = sample_fourier_noise(np.random.default_rng(split_seed(0, "train")), 4, modes=NS_MODES)
    w0_hat = fourier_noise_to_rfft(noise, res, keep=res // 3)
    f = forcing(res)
    print(f"# CFL estimate against real runs: {res}², 4 fields, dt={dt:g}")
    print("| ν | t | true max so far | old estimate | new estimate | new / true |")
    print("| --- | --- | --- | --- | --- | --- |")
    started = time.perf_counter()
    for viscosity in viscosities:
        w0 = torch.fft.irfft2(torch.from_numpy(w0_hat), s=(res, res))
        steps = round(t_final / dt)
        w = simulate(w0, viscosity=viscosity, dt=dt, steps=steps, record_every=every, force=torch.from_numpy(f))
        true = np.maximum.accumulate(speeds(w.numpy()).max(axis=0))
        for t in (5, 10, 20, 30, 40, 50):
            if t > t_final:
                break
            i = round(t / (dt * every)) - 1
            old = velocity_bound(w0_hat, f, t, viscosity=0.0)  # ν = 0: τ = t, the linear growth
            new = velocity_bound(w0_hat, f, t, viscosity=viscosity)
            print(f"| {viscosity:g} | {t} | {true[i]:.3f} | {old:.3f} | {new:.3f} | {new / true[i]:.2f} |")
    if not args.quick:
        print()
        print("Run-time check off, at the largest dt each estimate accepts:")
        print("| ν | T | new estimate's dt | old estimate's dt |")
        print("| --- | --- | --- | --- |")
        for viscosity, horizon in ((1e-3, 50.0), (1e-4, 30.0), (1e-5, 20.0)):
            print(f"| {viscosity:g} | {horizon:g} | " + unchecked_run(w0_hat, f, horizon, viscosity) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")


def unchecked_run(w0_hat: np.ndarray, f: np.ndarray, t_final: float, viscosity: float) -> str:
    """Runs at the largest dt the new and the old estimate accept, with the run-time CFL
    check switched off: does the flow really blow up where an estimate is below the truth?"""
    import math

    import torch

    from fnosweep.data import spectral

    res = w0_hat.shape[-2]
    w0 = torch.fft.irfft2(torch.from_numpy(w0_hat), s=(res, res))
    cells = []
    for told in (viscosity, 0.0):  # the new estimate, then the old (ν = 0: linear growth)
        speed = spectral.velocity_bound(w0_hat, f, t_final, viscosity=told)
        steps = math.ceil(t_final * res * speed / spectral.CFL_LIMIT)
        check, spectral.check_cfl = spectral.check_cfl, lambda *args: None  # what the check guards against
        try:
            w = spectral.simulate(w0, viscosity=viscosity, dt=t_final / steps, steps=steps, record_every=steps,
                                  force=torch.from_numpy(f))
        finally:
            spectral.check_cfl = check
        outcome = "finite" if bool(torch.isfinite(w).all()) else "blows up"
        cells.append(f"{t_final / steps:.4g}: {outcome}")
    return " | ".join(cells)


if __name__ == "__main__":
    main()
