"""Navier–Stokes solver: exact Taylor–Green decay, conserved mean vorticity, sane
spectra, consistent resolutions, and refusal of an unstable dt."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fnosweep.data.navier_stokes import forcing, generate_navier_stokes, simulate
from fnosweep.errors import DataError


def grid(res: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(res, dtype=torch.float64) / res
    return torch.meshgrid(x, x, indexing="ij")


@pytest.mark.parametrize("viscosity", [1e-3, 1e-2])
def test_taylor_green_vortex_decays_as_the_exact_solution(viscosity: float) -> None:
    # w = sin 2πx sin 2πy is a steady Euler flow (ψ ∝ w, so u·∇w = 0): without forcing,
    # w(t) = w(0) exp(−8π²νt) exactly. The nonlinear term is evaluated all the same.
    X, Y = grid(64)
    w0 = (torch.sin(2 * math.pi * X) * torch.sin(2 * math.pi * Y))[None]
    dt, steps = 1e-3, 1000
    w = simulate(w0, viscosity=viscosity, dt=dt, steps=steps, record_every=100, force=None)
    t = dt * 100 * torch.arange(1, 11, dtype=torch.float64)
    exact = w0[:, None] * torch.exp(-8 * math.pi**2 * viscosity * t)[None, :, None, None]
    assert (w - exact).abs().max() <= 1e-6


def test_mean_vorticity_is_conserved() -> None:
    res = 32
    noise = torch.randn(3, res, res, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    w0 = 0.3 + 0.5 * noise
    force = torch.from_numpy(forcing(res))
    w = simulate(w0, viscosity=1e-3, dt=1e-2, steps=200, record_every=50, force=force)
    drift = (w.mean(dim=(-2, -1)) - w0.mean(dim=(-2, -1))[:, None]).abs().max()
    assert drift < 1e-12


def energy_spectrum(w: np.ndarray) -> np.ndarray:
    """Shell-summed kinetic energy E(k) = Σ_{|k|∈[k, k+1)} |ŵ_k|² / (2·4π²|k|²), k = 1..N/2."""
    res = w.shape[-1]
    w_hat = np.fft.fft2(w) / res**2
    k = np.fft.fftfreq(res, 1.0 / res)
    kk = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    energy = np.abs(w_hat) ** 2 / (2 * 4 * np.pi**2 * np.where(kk > 0, kk, 1) ** 2)
    shells = np.floor(kk).astype(int)
    return np.bincount(shells.ravel(), weights=energy.mean(axis=0).ravel())[1 : res // 2 + 1]


def test_generated_samples_have_a_decaying_spectrum_without_pile_up() -> None:
    # ν = 1e-5 to T = 10: without de-aliasing the shells next to the cut-off hold 2× the
    # energy of the shells before them and modes beyond it fill up (checked by hand).
    res, args = 64, {"viscosity": 1e-5, "t_final": 10.0, "dt": 1e-2, "dtype": "float64"}
    data = generate_navier_stokes(n=4, resolution=res, seed=0, **args)
    x, y = data[res]
    assert torch.isfinite(y).all() and 0.1 < y.std() < 10
    cut = res // 3  # modes with |k_i| > N/3 are zero; shells up to N/3 are complete
    for field in (x.numpy(), y.numpy()):
        spectrum = energy_spectrum(field)
        peak = spectrum[:4].max()
        assert spectrum[cut - 3 : cut].max() < 1e-4 * peak  # decays by orders of magnitude
        # no pile-up: the last shells before the cut-off hold less than the shells before them
        assert spectrum[cut - 3 : cut].max() <= spectrum[cut - 8 : cut - 5].min()
        beyond = spectrum[int(np.ceil(cut * math.sqrt(2))) :]  # shells outside the 2/3 box
        assert beyond.max() < 1e-12 * peak


def test_coarse_resolutions_are_subsamples_or_resimulations_of_the_same_flow() -> None:
    common = {"n": 2, "seed": 3, "viscosity": 1e-3, "t_final": 0.5, "dt": 1e-2}
    data = generate_navier_stokes(resolution=32, resolutions=(48, 64), **common)
    x32, y32 = data[32]
    x64, y64 = data[64]
    assert torch.equal(x32, x64[:, ::2, ::2]) and torch.equal(y32, y64[:, ::2, ::2])
    x48, y48 = data[48]  # 48 does not divide 64: simulated on its own grid, same w0
    # Same initial fields (to the truncation at 48/3 modes): same large-scale spectrum.
    e48, e64 = energy_spectrum(y48.double().numpy()), energy_spectrum(y64.double().numpy())
    np.testing.assert_allclose(e48[:8], e64[:8], rtol=1e-3)


def test_time_series_option_stores_every_snapshot() -> None:
    common = {"n": 2, "resolution": 16, "seed": 1, "viscosity": 1e-3, "dt": 1e-2}
    series = generate_navier_stokes(t_final=0.4, time_steps=4, **common)[16][1]
    last = generate_navier_stokes(t_final=0.4, **common)[16][1]
    first = generate_navier_stokes(t_final=0.1, **common)[16][1]
    assert series.shape == (2, 4, 16, 16)
    torch.testing.assert_close(series[:, -1], last)
    torch.testing.assert_close(series[:, 0], first)


def test_unstable_dt_is_refused_with_the_limit() -> None:
    with pytest.raises(DataError, match=r"estimated CFL number .* > 0\.5 .*; use dt ≤ 0\.0"):
        generate_navier_stokes(n=1, resolution=64, seed=0, viscosity=1e-3, t_final=10.0, dt=0.5)


def test_a_flow_that_outgrows_dt_is_stopped_by_the_run_time_check() -> None:
    X, Y = grid(32)
    w0 = (50 * torch.sin(2 * math.pi * X) * torch.cos(4 * math.pi * Y))[None]
    with pytest.raises(DataError, match=r"CFL number .* > 0\.5 at t=0; use dt ≤"):
        simulate(w0, viscosity=1e-3, dt=0.05, steps=10, record_every=10, force=None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resolution": 15}, "even"),
        ({"n": 0}, "at least 1"),
        ({"dt": 0.03}, "multiple of dt"),
        ({"time_steps": 3}, "divide"),
        ({"viscosity": 0.0}, "positive"),
        ({"t_final": float("inf")}, "positive"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    args = {"n": 1, "resolution": 16, "seed": 0, "viscosity": 1e-3, "t_final": 0.1, "dt": 0.01}
    with pytest.raises(DataError, match=message):
        generate_navier_stokes(**(args | kwargs))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_and_cpu_give_the_same_data() -> None:
    args = {"n": 4, "resolution": 32, "seed": 0, "viscosity": 1e-3, "t_final": 1.0, "dt": 1e-2}
    cpu = generate_navier_stokes(**args)[32][1]
    gpu = generate_navier_stokes(device="cuda", **args)[32][1]
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=1e-4)


def test_data_do_not_depend_on_batching_or_threads() -> None:
    args = {"resolution": 16, "seed": 2, "viscosity": 1e-3, "t_final": 0.2, "dt": 1e-2}
    one = generate_navier_stokes(n=5, batch_size=5, workers=1, **args)[16]
    many = generate_navier_stokes(n=5, batch_size=2, workers=2, **args)[16]
    prefix = generate_navier_stokes(n=3, **args)[16]
    for a, b in zip(one, many, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(prefix[1], one[1][:3], atol=1e-6, rtol=1e-5)
