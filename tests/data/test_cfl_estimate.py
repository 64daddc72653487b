"""The up-front CFL estimate of the Navier–Stokes generator, at both ends: a dt that is
really unstable is refused before any work, and dt = 1e-2 at T = 50, ν = 1e-3 (stable:
the true max of |u|+|v| gives CFL 0.26) is accepted, which the linear-growth estimate of
before refused at CFL 0.733."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fnosweep.data.dataset import check_data
from fnosweep.data.generation import split_seed
from fnosweep.data.grf import NS_MODES, fourier_noise_to_rfft, sample_fourier_noise
from fnosweep.data.navier_stokes import CFL_SAMPLES, check_cfl_estimate, forcing, simulate
from fnosweep.data.request import DataRequest
from fnosweep.data.spectral import CFL_LIMIT, velocity_bound
from fnosweep.errors import DataError
from fnosweep.spec import parse_spec

SEED = split_seed(0, "train")  # the fields the train split of data.seed 0 starts from


def initial_fields(n: int, res: int) -> np.ndarray:
    noise = sample_fourier_noise(np.random.default_rng(SEED), n, modes=NS_MODES)
    return fourier_noise_to_rfft(noise, res, keep=res // 3)


def speeds(w: np.ndarray) -> np.ndarray:
    """max over the grid of |u|+|v| of vorticity fields (..., N, N), as the solver forms u, v."""
    res = w.shape[-1]
    kx = 2 * np.pi * np.fft.fftfreq(res, 1 / res)[:, None]
    ky = 2 * np.pi * np.fft.rfftfreq(res, 1 / res)[None, :]
    lap = kx**2 + ky**2
    inv = np.where(lap > 0, 1 / np.where(lap > 0, lap, 1), 0)
    w_hat = np.fft.rfft2(w)
    u = np.fft.irfft2(1j * ky * inv * w_hat, s=(res, res))
    v = np.fft.irfft2(-1j * kx * inv * w_hat, s=(res, res))
    return (np.abs(u) + np.abs(v)).max(axis=(-2, -1))


def estimated_cfl(dt: float, res: int, t_final: float, viscosity: float) -> float:
    w0_hat = initial_fields(CFL_SAMPLES, res)
    return dt * res * velocity_bound(w0_hat, forcing(res), t_final, viscosity=viscosity)


def test_dt_1e2_at_t50_is_accepted_where_the_linear_estimate_refused_it() -> None:
    # ν → 0 is the linear growth of before: CFL 0.733 > 0.5, a refusal of a stable dt.
    assert estimated_cfl(1e-2, 64, 50.0, viscosity=0.0) == pytest.approx(0.733, abs=1e-3)
    assert estimated_cfl(1e-2, 64, 50.0, viscosity=1e-3) == pytest.approx(0.33, abs=0.01)
    check_cfl_estimate(seed=SEED, resolutions=[64], t_final=50.0, dt=1e-2, viscosity=1e-3)


def test_the_spec_parser_runs_the_same_estimate() -> None:
    def spec(dt: float) -> dict:
        data = {"problem": "navier-stokes", "resolution": 64, "t_final": 50.0, "dt": dt, "viscosity": 1e-3}
        return {"study": {"name": "s", "n_trials": 1}, "data": data,
                "search": {"training.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}}

    assert parse_spec(spec(1e-2)).data.dt == 1e-2
    with pytest.raises(Exception, match=r"data -> dt: Navier–Stokes: dt=0.025 is unstable at resolution 64"):
        parse_spec(spec(2.5e-2))


def test_the_estimate_is_above_the_velocity_of_a_real_solve_at_every_time() -> None:
    # ν = 1e-3 to T = 50 at 32² (the velocity is large-scale: 64² gives the same max to 1 %).
    res, dt, every = 32, 2e-2, 25
    w0_hat = initial_fields(2, res)
    w0 = torch.fft.irfft2(torch.from_numpy(w0_hat), s=(res, res))
    f = forcing(res)
    w = simulate(w0, viscosity=1e-3, dt=dt, steps=2500, record_every=every, force=torch.from_numpy(f))
    true = np.maximum.accumulate(speeds(w.numpy()).max(axis=0))
    times = dt * every * np.arange(1, len(true) + 1)
    estimate = np.array([velocity_bound(w0_hat, f, t, viscosity=1e-3) for t in times])
    assert (true <= estimate).all()
    assert true[-1] > 0.35 and estimate[-1] < 1.3 * true[-1]  # 1.24× at T = 50, was 2.8×


def test_a_really_unstable_dt_is_refused_up_front_and_by_a_real_solve() -> None:
    # dt = 0.05 at 32², T = 50: the estimate refuses it (CFL 0.81); run anyway, the flow
    # outgrows it (true CFL 0.65 by t ≈ 30), which the run-time check stops.
    res, dt = 32, 5e-2
    with pytest.raises(DataError, match=r"dt=0.05 is unstable at resolution 32: estimated CFL"):
        # what a trial and `fnosweep data` run before they write anything
        check_data(DataRequest(problem="navier-stokes", root="unused", name="ns", resolution=res,
                               viscosity=1e-3, t_final=50.0, dt=dt))
    w0 = torch.fft.irfft2(torch.from_numpy(initial_fields(2, res)), s=(res, res))
    with pytest.raises(DataError, match=r"CFL number dt·N·max\(\|u\|\+\|v\|\) = 0\.\d+ > 0\.5 at t=\d+"):
        simulate(w0, viscosity=1e-3, dt=dt, steps=1000, record_every=1000, force=torch.from_numpy(forcing(res)))
    assert estimated_cfl(dt, res, 50.0, viscosity=1e-3) > CFL_LIMIT
