"""Gaussian random fields: continuous, resolution-independent, with the stated covariance."""

from __future__ import annotations

import numpy as np
import pytest

from fnosweep.data import grf


def test_cosine_field_is_the_same_function_on_nested_grids() -> None:
    coefficients = grf.sample_cosine_coefficients(np.random.default_rng(0), 3, modes=16)
    coarse = grf.evaluate_cosine_field(coefficients, 9)
    fine = grf.evaluate_cosine_field(coefficients, 17)
    np.testing.assert_allclose(coarse, fine[:, ::2, ::2], atol=1e-12)


def test_draws_do_not_depend_on_chunking() -> None:
    whole = grf.sample_cosine_coefficients(np.random.default_rng(5), 4, modes=8)
    rng = np.random.default_rng(5)
    parts = [grf.sample_cosine_coefficients(rng, k, modes=8) for k in (1, 3)]
    np.testing.assert_array_equal(whole, np.concatenate(parts))


def test_fourier_draws_do_not_depend_on_chunking() -> None:
    whole = grf.sample_fourier_noise(np.random.default_rng(5), 4, modes=4)
    rng = np.random.default_rng(5)
    parts = [grf.sample_fourier_noise(rng, k, modes=4) for k in (1, 3)]
    np.testing.assert_array_equal(whole, np.concatenate(parts))


def test_cosine_field_has_zero_mean_mode() -> None:
    coefficients = grf.sample_cosine_coefficients(np.random.default_rng(1), 2, modes=8)
    assert np.all(coefficients[:, 0, 0] == 0)


def test_fourier_field_is_real_with_the_covariance_of_the_measure() -> None:
    # Point variance of N(0, s(−Δ+τ²)^−α) on the torus is Σ_k s·(4π²|k|²+τ²)^−α (k ≠ 0).
    res, modes, n = 16, 7, 4000
    noise = grf.sample_fourier_noise(np.random.default_rng(2), n, modes=modes)
    w_hat = grf.fourier_noise_to_rfft(noise, res, keep=modes)
    w = np.fft.irfft2(w_hat, s=(res, res))
    np.testing.assert_allclose(np.fft.rfft2(w), w_hat, atol=1e-9)  # Hermitian: w is real
    k = np.arange(-modes, modes + 1)
    lam = 4 * np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + grf.NS_TAU**2
    variance = grf.NS_SCALE * lam ** (-grf.NS_ALPHA)
    expected = variance.sum() - variance[modes, modes]
    assert abs(w.var() / expected - 1) < 0.05
    assert abs(w.mean(axis=(1, 2))).max() < 1e-12


def test_the_papers_released_initial_fields_are_7_to_the_3_4_stronger() -> None:
    # The FNO paper's GaussianRF(2, s, alpha=2.5, tau=7), transcribed: std multiplier
    # s²·√2·σ·λ^−α/2 with σ = τ^{(2α−2)/2} = 7^{3/2}, complex torch.randn (E|c|² = 1), ifft2.
    import math

    import torch

    n, res = 4000, 64
    sigma = grf.NS_TAU ** (0.5 * (2 * grf.NS_ALPHA - 2))
    wavenumbers = torch.cat((torch.arange(0, res // 2), torch.arange(-res // 2, 0))).repeat(res, 1)
    kx, ky = wavenumbers.T, wavenumbers
    eig = 4 * math.pi**2 * (kx**2 + ky**2) + grf.NS_TAU**2
    sqrt_eig = res**2 * math.sqrt(2.0) * sigma * eig ** (-grf.NS_ALPHA / 2)
    sqrt_eig[0, 0] = 0.0
    coeff = torch.randn(n, res, res, dtype=torch.cfloat, generator=torch.Generator().manual_seed(0))
    theirs = torch.fft.ifftn(sqrt_eig * coeff, dim=[-1, -2]).real.double().numpy()
    noise = grf.sample_fourier_noise(np.random.default_rng(0), n)
    ours = np.fft.irfft2(grf.fourier_noise_to_rfft(noise, res, keep=res // 2 - 1), s=(res, res))
    assert theirs.std() / ours.std() == pytest.approx(7**0.75, rel=0.02)  # 4.30, not √2·7^{3/4} ≈ 6.09
