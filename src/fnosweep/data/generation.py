"""From a DataRequest to generator calls: the CFL pre-check, split seeds, sidecar parameters.

The parameters written to a sidecar are exactly those that change the data, so a
cache hit means "this file is what the spec would generate now".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fnosweep.data.request import DataRequest

if TYPE_CHECKING:
    import torch

GENERATOR_VERSION = 1  # bump when a change to a generator changes its output
_SPLITS = {"train": 0, "test": 1}


def split_seed(seed: int, split: str) -> int:
    """Independent streams for the train and test splits of one seed (NumPy's
    SeedSequence spawning): the two splits never share a random draw."""
    import numpy as np

    sequence = np.random.SeedSequence([seed, _SPLITS[split]])
    return int(sequence.generate_state(1, np.uint32)[0])


def precheck(request: DataRequest) -> None:
    """Checks that cost a little computation (a CFL estimate): run before any write."""
    if request.problem == "navier-stokes":
        from fnosweep.data.navier_stokes import check_cfl_estimate

        for split in _SPLITS:
            check_cfl_estimate(
                seed=split_seed(request.seed, split),
                resolutions=_resolutions(request, split),
                t_final=request.t0 + request.t_final,  # the flow's speed grows with time
                dt=request.dt,
                viscosity=request.viscosity,
            )


def _resolutions(request: DataRequest, split: str) -> list[int]:
    return [request.resolution] if split == "train" else sorted(request.test_resolutions)


def params(request: DataRequest, split: str, resolution: int) -> dict[str, Any]:
    """The sidecar parameters of one file: everything its content depends on."""
    common: dict[str, Any] = {
        "problem": request.problem,
        "split": split,
        "resolution": resolution,
        "n": request.n_train if split == "train" else request.n_test,
        "seed": request.seed,
        "generator_version": GENERATOR_VERSION,
    }
    if request.problem == "darcy":
        from fnosweep.data import grf
        from fnosweep.data.darcy import A_HIGH, A_LOW

        return common | {
            "grf": {"alpha": grf.DARCY_ALPHA, "tau": grf.DARCY_TAU, "modes": grf.DARCY_MODES},
            "coefficient": [A_HIGH, A_LOW],
            "scheme": "fd5-harmonic-faces",
        }
    from fnosweep.data import grf
    from fnosweep.data.navier_stokes import FORCING_AMPLITUDE, simulation_grids

    grids = simulation_grids(_resolutions(request, split))
    simulated_on = next(g for g, served in grids.items() if resolution in served)
    spin_up = {"t0": request.t0} if request.t0 else {}  # t0 = 0: the sidecars of before stay valid
    return (
        common
        | spin_up
        | {
            "viscosity": request.viscosity,
            "t_final": request.t_final,
            "dt": request.dt,
            "time_steps": request.time_steps,
            "simulated_resolution": simulated_on,
            "grf": {
                "alpha": grf.NS_ALPHA,
                "tau": grf.NS_TAU,
                "scale": grf.NS_SCALE,
                "modes": grf.NS_MODES,
            },
            "forcing_amplitude": FORCING_AMPLITUDE,
            "scheme": "pseudo-spectral-2/3-cn-ab2-float32",
        }
    )


def generate(
    request: DataRequest,
    split: str,
    resolutions: Sequence[int],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Generate one split at `resolutions`; returns {res: (x, y)} in the file layout."""
    n = request.n_train if split == "train" else request.n_test
    seed = split_seed(request.seed, split)
    if request.problem == "darcy":
        from fnosweep.data.darcy import generate_darcy

        res = list(resolutions)
        return generate_darcy(n=n, resolution=res[0], resolutions=res, seed=seed, progress=progress)
    from fnosweep.data.navier_stokes import generate_navier_stokes

    # All resolutions of the split, so that each is simulated on the grid its sidecar names.
    everything = _resolutions(request, split)
    data = generate_navier_stokes(
        n=n,
        resolution=everything[0],
        resolutions=everything,
        seed=seed,
        viscosity=request.viscosity,
        t_final=request.t_final,
        dt=request.dt,
        time_steps=request.time_steps,
        t0=request.t0,
        device=request.device,
        progress=progress,
    )
    if request.time_steps:  # channel-explicit layout, see fnosweep.data.io
        data = {r: (x.unsqueeze(1), y) for r, (x, y) in data.items()}
    return {r: data[r] for r in resolutions}
