"""Darcy flow −∇·(a∇u) = f on the unit square, u = 0 on the boundary.

Grid: `resolution` nodes per axis *including* the boundary, x_i = i/(resolution−1),
h = 1/(resolution−1); the unknowns are the (resolution−2)² interior nodes.

Discretisation: the standard second-order 5-point finite-volume/finite-difference
stencil in flux form,

    (1/h²) Σ_{faces} a_face (u_P − u_neighbour) = f_P,

with the coefficient at a cell face taken as the *harmonic* mean of the two nodal
values, a_face = 2 a_P a_Q / (a_P + a_Q). The harmonic mean is the flux-continuous
choice for the piecewise-constant 12/3 coefficient (a series of two half-cells), and
for a smooth coefficient it differs from a(face) by O(h²), so the scheme stays
second order (tests/data/test_darcy.py measures it).

The sparsity pattern depends only on the resolution, so it is built once; each
sample only fills the values (vectorised over a chunk of samples) and is factorised
once by SuperLU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from fnosweep.data.grf import DARCY_MODES, evaluate_cosine_field, sample_cosine_coefficients
from fnosweep.errors import DataError

if TYPE_CHECKING:
    import torch

A_HIGH = 12.0
A_LOW = 3.0
CHUNK = 32  # samples whose coefficient fields are drawn and assembled together


@dataclass(frozen=True)
class _Pattern:
    """CSC structure of the interior 5-point matrix and where each stencil entry goes."""

    indptr: np.ndarray
    indices: np.ndarray
    order: np.ndarray  # permutation: stencil-ordered values → CSC data order
    size: int


@lru_cache(maxsize=8)
def _pattern(resolution: int) -> _Pattern:
    m = resolution - 2
    idx = np.arange(m * m).reshape(m, m)
    rows = [idx.ravel()]
    cols = [idx.ravel()]
    # Off-diagonals in a fixed order that `_stencil_values` repeats: +x, −x, +y, −y.
    for a, b in ((idx[:-1, :], idx[1:, :]), (idx[1:, :], idx[:-1, :])):
        rows.append(a.ravel())
        cols.append(b.ravel())
    for a, b in ((idx[:, :-1], idx[:, 1:]), (idx[:, 1:], idx[:, :-1])):
        rows.append(a.ravel())
        cols.append(b.ravel())
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    order = np.lexsort((r, c))  # sort by column, then row: CSC order, no duplicates
    indptr = np.concatenate([[0], np.cumsum(np.bincount(c, minlength=m * m))])
    return _Pattern(indptr=indptr, indices=r[order], order=order, size=m * m)


def _stencil_values(a: np.ndarray, h: float) -> np.ndarray:
    """Matrix values for a batch of nodal coefficients a (n, N, N), in `_pattern` order."""
    n = a.shape[0]
    # Harmonic means on the faces between neighbouring nodes along x (axis 1) and y (axis 2).
    ax = 2.0 * a[:, 1:, :] * a[:, :-1, :] / (a[:, 1:, :] + a[:, :-1, :])  # face i+½ at (i, j)
    ay = 2.0 * a[:, :, 1:] * a[:, :, :-1] / (a[:, :, 1:] + a[:, :, :-1])  # face j+½ at (i, j)
    east, west = ax[:, 1:, 1:-1], ax[:, :-1, 1:-1]  # faces around interior nodes
    north, south = ay[:, 1:-1, 1:], ay[:, 1:-1, :-1]
    diag = east + west + north + south
    # Couplings between interior nodes only: faces interior–interior.
    cx = -ax[:, 1:-1, 1:-1]  # face between (i, j) and (i+1, j), both interior
    cy = -ay[:, 1:-1, 1:-1]  # face between (i, j) and (i, j+1)
    parts = [diag, cx, cx, cy, cy]
    return np.concatenate([p.reshape(n, -1) for p in parts], axis=1) / h**2


def solve_darcy(a: np.ndarray, f: np.ndarray | float = 1.0) -> np.ndarray:
    """Solve −∇·(a∇u) = f, u = 0 on the boundary, for nodal coefficients a (n, N, N)
    (or (N, N)). f is a constant or nodal values of the same shape. Returns u with the
    shape of a, zero on the boundary."""
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import splu

    single = a.ndim == 2
    a3 = np.asarray(a, dtype=np.float64)[None] if single else np.asarray(a, dtype=np.float64)
    n, res = a3.shape[0], a3.shape[-1]
    if res < 4 or a3.shape[-2] != res:
        raise DataError(f"Darcy solve: expected a square grid of at least 4×4 nodes, got {a.shape}")
    if not np.all(a3 > 0):
        raise DataError("Darcy solve: the coefficient a must be positive everywhere")
    pattern = _pattern(res)
    values = np.ascontiguousarray(_stencil_values(a3, 1.0 / (res - 1))[:, pattern.order])
    f3 = np.broadcast_to(np.asarray(f, dtype=np.float64), a3.shape[-2:] if single else a3.shape)
    f3 = f3.reshape((1, res, res)) if single else f3
    u = np.zeros_like(a3)
    for i in range(n):
        matrix = csc_matrix((values[i], pattern.indices, pattern.indptr), shape=(pattern.size,) * 2)
        # SymmetricMode + MMD(AᵀA) is SuperLU's recipe for SPD matrices: less fill, no pivoting.
        lu = splu(matrix, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
        rhs = np.ascontiguousarray(f3[i % f3.shape[0], 1:-1, 1:-1]).ravel()
        u[i, 1:-1, 1:-1] = lu.solve(rhs).reshape(res - 2, res - 2)
    return u[0] if single else u


def threshold(field: np.ndarray) -> np.ndarray:
    """The Darcy coefficient: 12 where the Gaussian field is ≥ 0, 3 elsewhere."""
    return np.where(field >= 0.0, A_HIGH, A_LOW)


def generate_darcy(
    *,
    n: int,
    resolution: int,
    seed: int,
    resolutions: Sequence[int] = (),
    modes: int = DARCY_MODES,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """n Darcy samples (coefficient a, solution u) at `resolution` and at each of
    `resolutions`, all from the same n coefficient fields.

    Returns {res: (x, y)} with x = a and y = u as float32 tensors (n, res, res) on the
    grid x_i = i/(res−1) (boundary included; u = 0 there). `progress(done, n)` is
    called after each chunk of samples.
    """
    import torch

    all_res = sorted({resolution, *resolutions})
    if n < 1:
        raise DataError(f"Darcy: n must be at least 1, but got n={n}")
    if all_res[0] < 4:
        raise DataError(f"Darcy: resolution must be at least 4, but got {all_res[0]}")
    rng = np.random.default_rng(seed)
    xs: dict[int, list[np.ndarray]] = {r: [] for r in all_res}
    ys: dict[int, list[np.ndarray]] = {r: [] for r in all_res}
    done = 0
    while done < n:
        b = min(CHUNK, n - done)
        coefficients = sample_cosine_coefficients(rng, b, modes=modes)
        for r in all_res:
            a = threshold(evaluate_cosine_field(coefficients, r))
            xs[r].append(a.astype(np.float32))
            ys[r].append(solve_darcy(a).astype(np.float32))
        done += b
        if progress is not None:
            progress(done, n)
    return {r: (torch.from_numpy(np.concatenate(xs[r])), torch.from_numpy(np.concatenate(ys[r]))) for r in all_res}
