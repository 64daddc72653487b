"""Darcy solver: second-order convergence on a manufactured solution; the generator's
fields are thresholded 12/3 and shared across resolutions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fnosweep.data.darcy import A_HIGH, A_LOW, generate_darcy, solve_darcy
from fnosweep.errors import DataError


def manufactured(res: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a smooth and variable, u = e^x sin(πx) sin(2πy) (zero on the boundary),
    f = −∇·(a∇u) computed by hand."""
    x = np.linspace(0.0, 1.0, res)
    X, Y = np.meshgrid(x, x, indexing="ij")
    pi = np.pi
    a = 1.0 + 0.5 * np.sin(2 * pi * X) * np.cos(3 * pi * Y) + 0.3 * X * Y
    a_x = pi * np.cos(2 * pi * X) * np.cos(3 * pi * Y) + 0.3 * Y
    a_y = -1.5 * pi * np.sin(2 * pi * X) * np.sin(3 * pi * Y) + 0.3 * X
    u = np.exp(X) * np.sin(pi * X) * np.sin(2 * pi * Y)
    u_x = np.exp(X) * (pi * np.cos(pi * X) + np.sin(pi * X)) * np.sin(2 * pi * Y)
    u_y = np.exp(X) * np.sin(pi * X) * 2 * pi * np.cos(2 * pi * Y)
    u_xx = np.exp(X) * (2 * pi * np.cos(pi * X) + (1 - pi**2) * np.sin(pi * X)) * np.sin(2 * pi * Y)
    u_yy = -4 * pi**2 * u
    f = -(a_x * u_x + a * u_xx + a_y * u_y + a * u_yy)
    return a, f, u


def test_error_falls_at_second_order_on_a_manufactured_solution() -> None:
    resolutions = (17, 33, 65)  # h = 1/16, 1/32, 1/64
    errors = []
    for res in resolutions:
        a, f, u = manufactured(res)
        errors.append(np.abs(solve_darcy(a, f) - u).max())
    h = np.array([1.0 / (r - 1) for r in resolutions])
    slope = np.polyfit(np.log(h), np.log(errors), 1)[0]
    assert 1.8 <= slope <= 2.2, (errors, slope)
    assert errors[-1] < 2e-3


def test_batched_solve_matches_single_solves() -> None:
    a, f, _ = manufactured(9)
    batch = np.stack([a, 2 * a])
    u = solve_darcy(batch, 1.0)
    np.testing.assert_allclose(u[1], solve_darcy(2 * a, 1.0), rtol=1e-12)
    np.testing.assert_allclose(u[0], 2 * u[1], rtol=1e-10)  # u scales as 1/a


def test_generated_samples_are_thresholded_positive_and_zero_on_the_boundary() -> None:
    data = generate_darcy(n=4, resolution=16, seed=0)
    x, y = data[16]
    assert x.shape == y.shape == (4, 16, 16)
    assert set(x.unique().tolist()) <= {A_LOW, A_HIGH}
    assert 0.1 < (x == A_HIGH).float().mean() < 0.9
    assert y[:, 0].abs().max() == y[:, -1].abs().max() == y[:, :, 0].abs().max() == 0
    assert (y[:, 1:-1, 1:-1] > 0).all()  # maximum principle: f = 1 > 0


def test_resolutions_share_their_coefficient_fields() -> None:
    data = generate_darcy(n=3, resolution=17, resolutions=(33,), seed=1)
    (x17, y17), (x33, y33) = data[17], data[33]
    assert (x17 == x33[:, ::2, ::2]).float().mean() > 0.99  # same nodes, same field
    rel = (y17 - y33[:, ::2, ::2]).norm() / y33.norm()
    assert rel < 0.1  # two discretisations of one solution


def test_seed_reproduces_and_progress_counts_samples() -> None:
    calls: list[tuple[int, int]] = []
    first = generate_darcy(n=3, resolution=8, seed=7, progress=lambda d, t: calls.append((d, t)))
    again = generate_darcy(n=3, resolution=8, seed=7)
    assert (first[8][0] == again[8][0]).all()
    assert calls[-1] == (3, 3)


@pytest.mark.parametrize(("n", "res"), [(0, 8), (2, 3)])
def test_bad_sizes_are_refused(n: int, res: int) -> None:
    with pytest.raises(DataError):
        generate_darcy(n=n, resolution=res, seed=0)


def test_more_samples_extend_the_same_sequence() -> None:
    few = generate_darcy(n=2, resolution=8, seed=4)[8]
    more = generate_darcy(n=40, resolution=8, seed=4)[8]  # crosses a chunk boundary
    assert torch.equal(few[0], more[0][:2]) and torch.equal(few[1], more[1][:2])
