"""Gaussian random fields N(0, scale·(−Δ + τ²I)^−α), sampled as continuous expansions.

A field is drawn as coefficients of a *fixed, resolution-independent* truncated
eigen-expansion of the Laplacian, so the same draw can be evaluated on any grid.
That is what lets Darcy and Navier–Stokes test sets at several resolutions share
their coefficient fields / initial conditions (zero-shot super-resolution).

- Darcy (unit square, Neumann Laplacian, as in the FNO paper): eigenfunctions
  φ_k(x) = c_k cos(πk x) with c_0 = 1, c_k = √2 (orthonormal on [0, 1]), eigenvalues
  π²(k₁² + k₂²).
- Navier–Stokes (unit torus): eigenfunctions e^{2πi k·x}, eigenvalues 4π²|k|².

Both fields have zero mean: the constant mode is dropped. For the Darcy field this
keeps the 12/3 split balanced on average (with τ = 3 the constant mode alone would
carry about 20 % of the variance and make many samples almost all-12 or all-3); for
the vorticity a zero mean is required on the torus (∫ w = circulation = 0).

Random numbers come from NumPy's PCG64 on the CPU whatever the compute device, so a
seed gives the same data on a CPU and a GPU. Draws are sequential: generating n
samples in chunks gives the same samples as one draw of n, and a prefix of n
samples is the same whatever n is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DARCY_ALPHA = 2.0
DARCY_TAU = 3.0
DARCY_MODES = 64
"""Cosine modes per axis of the Darcy coefficient field. Amplitudes fall as
(π²|k|² + 9)^−1, so mode 64 carries < 0.05 % of the amplitude of mode 1."""

NS_ALPHA = 2.5
NS_TAU = 7.0
NS_SCALE = 7.0**1.5
"""Covariance 7^{3/2}(−Δ + 49I)^−2.5, as written in the FNO paper and DESIGN.md:
the per-mode *variance* is scale·λ^−α. (The paper's released generator multiplies
the standard deviation by √2·7^{3/2} instead, but draws its coefficients with
`torch.randn(..., dtype=cfloat)`, whose E|c|² = 1 cancels the √2: its fields are
7^{3/4} ≈ 4.30× stronger in standard deviation; sampled, 4.32× over 4 000 fields.)"""
NS_MODES = 32
"""Largest |k_i| of the initial vorticity. Amplitudes fall as (4π²|k|² + 49)^−1.25:
mode 32 carries < 0.05 % of the amplitude of mode 1."""


@dataclass(frozen=True)
class Covariance:
    """The law N(0, scale·(−Δ + τ²I)^−α) of a field, on any domain: what a mode's
    standard deviation is, given the Laplacian's eigenvalue of that mode."""

    alpha: float
    tau: float
    scale: float = 1.0

    def std(self, laplacian: np.ndarray) -> np.ndarray:
        """Each mode's standard deviation, from its eigenvalue of −Δ; the constant mode
        (eigenvalue 0) is zero: a zero-mean field (see the module docstring)."""
        std = np.sqrt(self.scale) * (laplacian + self.tau**2) ** (-self.alpha / 2.0)
        std[laplacian == 0] = 0.0
        return std


DARCY_COVARIANCE = Covariance(alpha=DARCY_ALPHA, tau=DARCY_TAU)
NS_COVARIANCE = Covariance(alpha=NS_ALPHA, tau=NS_TAU, scale=NS_SCALE)


def sample_cosine_coefficients(
    rng: np.random.Generator, n: int, *, modes: int = DARCY_MODES, law: Covariance = DARCY_COVARIANCE
) -> np.ndarray:
    """Draw n fields N(0, (−Δ + τ²)^−α) (Neumann, unit square): coefficients (n, modes, modes)."""
    k = np.arange(modes)
    std = law.std(np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2))
    return rng.standard_normal((n, modes, modes)) * std


def cosine_basis(modes: int, resolution: int) -> np.ndarray:
    """Orthonormal Neumann eigenfunctions at the nodes i/(resolution−1): (modes, resolution)."""
    x = np.linspace(0.0, 1.0, resolution)
    basis = np.sqrt(2.0) * np.cos(np.pi * np.arange(modes)[:, None] * x[None, :])
    basis[0] = 1.0
    return basis


def evaluate_cosine_field(coefficients: np.ndarray, resolution: int) -> np.ndarray:
    """Evaluate fields of `sample_cosine_coefficients` at the nodes of a resolution² grid
    that includes the boundary (x_i = i/(resolution−1)): (n, resolution, resolution)."""
    basis = cosine_basis(coefficients.shape[-1], resolution)
    # f(x_i, y_j) = Σ_{k,l} φ_k(x_i) c_kl φ_l(y_j): two batched matrix products.
    return np.einsum("ki,nkl,lj->nij", basis, coefficients, basis, optimize=True)


def sample_fourier_noise(
    rng: np.random.Generator, n: int, *, modes: int = NS_MODES, law: Covariance = NS_COVARIANCE
) -> np.ndarray:
    """Draw n fields N(0, scale·(−Δ + τ²)^−α) on the unit torus as complex coefficients
    Z_k for the window |k_i| ≤ modes: (n, 2·modes+1, 2·modes+1), index modes+k.

    The field is w(x) = Re Σ_k Z_k e^{2πi k·x} with Z_k = √(scale·λ_k^−α)(ξ + iη),
    ξ, η ~ N(0, 1): its covariance is Σ_k scale·λ_k^−α cos(2πk·(x−y)), exactly the
    covariance operator's kernel. `fourier_noise_to_rfft` turns Z into the
    Hermitian rfft2 coefficients of w on a given grid.
    """
    k = np.arange(-modes, modes + 1)
    std = law.std(4.0 * np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2))  # zero mean: zero circulation
    # Sample by sample (real and imaginary parts together), so that chunked draws
    # give the same samples as one draw.
    noise = rng.standard_normal((n, 2, 2 * modes + 1, 2 * modes + 1))
    return std * (noise[:, 0] + 1j * noise[:, 1])


def fourier_noise_to_rfft(noise: np.ndarray, resolution: int, keep: int) -> np.ndarray:
    """Coefficients of `sample_fourier_noise` → unnormalised rfft2 layout (n, N, N//2+1)
    of the field sampled on the N×N grid x_i = i/N, keeping the modes |k_i| ≤ keep.

    torch/NumPy's rfft2 of point values carries a factor N², hence the scaling.
    """
    n, width = noise.shape[0], noise.shape[1]
    modes = (width - 1) // 2
    keep = min(keep, modes, resolution // 2 - 1)
    # Hermitian part: Re Σ Z_k e_k = Σ ½(Z_k + conj Z_−k) e_k.
    hermitian = 0.5 * (noise + np.conj(noise[:, ::-1, ::-1]))
    out = np.zeros((n, resolution, resolution // 2 + 1), dtype=np.complex128)
    kx = np.arange(-keep, keep + 1)
    rows = kx % resolution  # negative kx wrap to the end, as in fftfreq order
    block = hermitian[:, modes - keep : modes + keep + 1, modes : modes + keep + 1]
    out[:, rows, : keep + 1] = block
    return out * resolution**2
