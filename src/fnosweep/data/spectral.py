"""Pseudo-spectral solver of 2-D incompressible Navier–Stokes, vorticity form, on the
unit torus [0, 1)²:

    ∂t w + u·∇w = ν Δw + f,   u = (∂y ψ, −∂x ψ),   −Δψ = w.

Space: the N×N grid x_i = i/N; derivatives and the inverse Laplacian are exact
multiplications in Fourier space; the product u·∇w is formed in physical space and
de-aliased by Orszag's 2/3 rule (modes with |k_i| > N/3 are zeroed, in the nonlinear
term and in the state, so nothing above the cut-off ever carries energy).

Time: CN–AB2. Crank–Nicolson (implicit, unconditionally stable, 2nd order) for the
viscous term, diagonal in Fourier space so "implicit" is a division; second-order
Adams–Bashforth for advection and forcing (explicit, one nonlinear evaluation per
step: half the cost of Heun's predictor–corrector). The first step takes
N^{-1} = N^0 (one first-order step, a local O(dt²) error like the global one).

Explicit advection needs a CFL condition. With wavenumbers up to 2πN/3, keeping
dt·N·max(|u|+|v|) ≤ CFL_LIMIT = 0.5 keeps dt·|u·k| ≲ 1, where AB2's weak
instability on the imaginary axis (growth ~ (dt·|u·k|)⁴/4 per step) stays below the
viscous damping. Before a run, `velocity_bound` estimates the largest velocity (for
`fnosweep.data.navier_stokes.check_cfl_estimate`); during it, the velocity is checked
every CHECK_EVERY steps (one host sync each, not one per step).

Batched over samples with torch FFTs: the same code runs on a GPU.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from fnosweep.errors import DataError

if TYPE_CHECKING:
    import torch

CFL_LIMIT = 0.5
CHECK_EVERY = 50
FORCING_AMPLITUDE = 0.1


def forcing(resolution: int) -> np.ndarray:
    """The FNO paper's forcing 0.1(sin 2π(x+y) + cos 2π(x+y)) at x_i = i/N: (N, N)."""
    x = np.arange(resolution) / resolution
    s = 2.0 * np.pi * (x[:, None] + x[None, :])
    return FORCING_AMPLITUDE * (np.sin(s) + np.cos(s))


def simulate(
    w0: torch.Tensor,
    *,
    viscosity: float,
    dt: float,
    steps: int,
    record_every: int,
    force: torch.Tensor | None,
) -> torch.Tensor:
    """Advance vorticity fields w0 (B, N, N) by `steps` steps of dt; return the fields
    after every `record_every` steps: (B, steps // record_every, N, N). `force` is the
    forcing on the grid (N, N) or None. The dtype and device of w0 are used throughout.
    Raises DataError when the flow breaks the CFL condition or stops being finite."""
    import torch

    with single_threaded(w0.device.type == "cpu"):
        res = w0.shape[-1]
        kx, ky, keep = _wavenumbers(res, w0.dtype, w0.device)
        lap = kx**2 + ky**2
        inv_lap = torch.where(lap > 0, 1.0 / torch.where(lap > 0, lap, 1.0), 0.0)
        # One complex multiplier per physical field we need: u = ∂yψ, v = −∂xψ, ∂xw, ∂yw.
        mult = torch.stack([1j * ky * inv_lap, -1j * kx * inv_lap, 1j * kx, 1j * ky])
        half = 0.5 * viscosity * dt * lap
        # CN: (1 + νdt|k|²/2) ŵ⁺ = (1 − νdt|k|²/2) ŵ + dt·(f̂ − 3/2 N̂ + 1/2 N̂⁻), masked = de-aliased.
        decay = torch.where(keep, (1.0 - half) / (1.0 + half), 0.0).to(mult.dtype)
        gain = torch.where(keep, dt / (1.0 + half), 0.0).to(mult.dtype)
        forced = gain * torch.fft.rfft2(force) if force is not None else torch.zeros_like(decay)
        gain_now, gain_before = -1.5 * gain, 0.5 * gain  # AB2 weights folded into the gain

        w_hat = torch.fft.rfft2(w0) * keep
        previous: torch.Tensor | None = None
        out = []
        for step in range(steps):
            fields = torch.fft.irfft2(w_hat[:, None] * mult, s=(res, res))  # (B, 4, N, N)
            u, v, wx, wy = fields.unbind(1)
            nonlinear = torch.fft.rfft2(torch.addcmul(u * wx, v, wy))
            if step % CHECK_EVERY == 0:
                check_cfl(u, v, dt, step * dt)  # a host sync: only every CHECK_EVERY steps
            previous = nonlinear if previous is None else previous  # first step: N⁻ = N
            # Fused multiply-adds: fewer passes over memory than the textbook expression.
            w_hat = torch.addcmul(forced, decay, w_hat).addcmul_(gain_now, nonlinear).addcmul_(gain_before, previous)
            previous = nonlinear
            if (step + 1) % record_every == 0:
                out.append(torch.fft.irfft2(w_hat, s=(res, res)))
        return torch.stack(out, dim=1)


@contextlib.contextmanager
def single_threaded(active: bool = True) -> Iterator[None]:
    """One intra-op torch thread inside the block (restored after). The 64² FFTs are
    too small to split, and on a busy 2-core machine OpenMP's barriers made a step
    4-13× slower with 2 threads than with 1 (measured here)."""
    import torch

    previous = torch.get_num_threads()
    if active:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if active:
            torch.set_num_threads(previous)


def _wavenumbers(
    resolution: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """2πk_x (full), 2πk_y (rfft half) and the 2/3-rule mask, as (N, N//2+1) grids."""
    import torch

    kx = torch.fft.fftfreq(resolution, 1.0 / resolution, dtype=dtype, device=device)
    ky = torch.fft.rfftfreq(resolution, 1.0 / resolution, dtype=dtype, device=device)
    kx, ky = torch.meshgrid(kx, ky, indexing="ij")  # x along dim −2, y along dim −1
    keep = (kx.abs() <= resolution // 3) & (ky.abs() <= resolution // 3)
    return 2.0 * math.pi * kx, 2.0 * math.pi * ky, keep


def check_cfl(u: torch.Tensor, v: torch.Tensor, dt: float, t: float) -> None:
    """Raise DataError when dt·N·max(|u|+|v|) > CFL_LIMIT or the flow is not finite."""
    res = u.shape[-1]
    speed = float((u.abs() + v.abs()).amax())
    cfl = dt * res * speed
    if not math.isfinite(cfl) or cfl > CFL_LIMIT:
        limit = f"{CFL_LIMIT / (res * speed):.3g}" if math.isfinite(speed) else "a smaller dt"
        raise DataError(
            f"Navier–Stokes: dt={dt:g} is unstable at resolution {res}: CFL number "
            f"dt·N·max(|u|+|v|) = {cfl:.3g} > {CFL_LIMIT} at t={t:g}; use dt ≤ {limit}"
        )


def velocity_bound(w0_hat: np.ndarray, force: np.ndarray | None, t_final: float, *, viscosity: float) -> float:
    """Estimate of max(|u|+|v|) up to t_final: the initial velocity plus the forcing's
    velocity grown for the saturation time τ = (1 − e^{−λt})/λ, λ = 4π²ν, instead of t.

    Why τ: the nonlinear term moves energy between scales but conserves it, so
    d‖u‖/dt ≤ ‖F‖ − λ‖u‖ (F the forcing's velocity, λ the slowest viscous decay on the
    unit torus, |k| = 2π): the velocity the forcing adds is at most ‖F‖·τ in RMS, whatever
    the flow does, and the estimate scales F's peak by the same τ. As ν → 0, τ → t (the
    old linear growth); at ν = 1e-3, T = 50 τ is 22 instead of 50. Nonlinear transfer can
    still concentrate velocity at a point beyond this, which the run-time check catches.
    w0_hat: rfft2 coefficients."""
    res = w0_hat.shape[-2]
    kx = 2.0 * np.pi * np.fft.fftfreq(res, 1.0 / res)[:, None]
    ky = 2.0 * np.pi * np.fft.rfftfreq(res, 1.0 / res)[None, :]
    lap = kx**2 + ky**2
    inv_lap = np.where(lap > 0, 1.0 / np.where(lap > 0, lap, 1.0), 0.0)

    def speed(field_hat: np.ndarray) -> float:
        u = np.fft.irfft2(1j * ky * inv_lap * field_hat, s=(res, res))
        v = np.fft.irfft2(-1j * kx * inv_lap * field_hat, s=(res, res))
        return float((np.abs(u) + np.abs(v)).max())

    bound = speed(w0_hat)
    if force is not None:
        bound += saturation_time(t_final, viscosity) * speed(np.fft.rfft2(force))
    return bound


def saturation_time(t: float, viscosity: float) -> float:
    """τ(t) = (1 − e^{−λt})/λ with λ = 4π²ν: the time over which a constant forcing
    accumulates velocity against the slowest viscous decay (τ ≤ t, → t as ν → 0)."""
    rate = 4.0 * math.pi**2 * viscosity
    return -math.expm1(-rate * t) / rate if rate * t > 0 else t
