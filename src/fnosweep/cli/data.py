"""`fnosweep data darcy|navier-stokes`: generate PDE data offline, in neuralop's format.

Thin commands: parse the options into a DataRequest, call `prepare`, print where the
files are. Bad input raises DataError (the main CLI prints it as one line). torch is
imported only when a command runs, so `fnosweep --help` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fnosweep.data.dataset import prepare
from fnosweep.data.request import DataRequest, DatasetFiles
from fnosweep.errors import DataError

app = typer.Typer(
    help="Generate PDE data offline (Darcy flow, 2-D Navier–Stokes) in neuralop's .pt format.",
    no_args_is_help=True,
)

Out = Annotated[Path, typer.Option("--out", help="Directory to write the .pt files into.")]
Resolution = Annotated[int, typer.Option(help="Training grid size N (N×N).")]
NTrain = Annotated[int, typer.Option("--n-train", help="Number of training samples.")]
NTest = Annotated[int, typer.Option("--n-test", help="Number of test samples per resolution.")]
TestRes = Annotated[
    str,
    typer.Option(
        "--test-resolutions",
        help="Comma-separated test grid sizes, e.g. 32,64 [default: the training resolution].",
    ),
]
Seed = Annotated[int, typer.Option(help="Random seed (train and test use disjoint streams).")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace files generated with other parameters.")]


@app.command()
def darcy(
    out: Out,
    resolution: Resolution = 32,
    n_train: NTrain = 1000,
    n_test: NTest = 100,
    test_resolutions: TestRes = "",
    seed: Seed = 0,
    name: Annotated[str, typer.Option(help="File prefix: NAME_train_RES.pt.")] = "darcy",
    overwrite: Overwrite = False,
) -> None:
    """Darcy flow −∇·(a∇u) = 1, u = 0 on the boundary; a thresholded Gaussian field (12/3)."""
    request = _request("darcy", out, resolution, test_resolutions, name=name, n_train=n_train, n_test=n_test, seed=seed)
    _run(request, overwrite)


@app.command("navier-stokes")
def navier_stokes(
    out: Out,
    resolution: Resolution = 64,
    n_train: NTrain = 1000,
    n_test: NTest = 100,
    test_resolutions: TestRes = "",
    seed: Seed = 0,
    viscosity: Annotated[float, typer.Option(help="Kinematic viscosity ν, e.g. 1e-3, 1e-4.")] = 1e-3,
    t_final: Annotated[float, typer.Option("--t-final", help="Time T of the target w(t0 + T).")] = 10.0,
    t0: Annotated[
        float, typer.Option("--t0", help="Spin-up time before the input snapshot x = w(t0) (a multiple of dt).")
    ] = 0.0,
    dt: Annotated[float, typer.Option(help="Time step; checked against the CFL limit.")] = 1e-3,
    time_steps: Annotated[
        int | None,
        typer.Option("--time-steps", help="Store K snapshots up to T as the target (n, K, N, N)."),
    ] = None,
    device: Annotated[str, typer.Option(help="torch device of the solver: cpu, cuda.")] = "cpu",
    name: Annotated[str, typer.Option(help="File prefix: NAME_train_RES.pt.")] = "nsforcing",
    overwrite: Overwrite = False,
) -> None:
    """Forced 2-D Navier–Stokes (vorticity, unit torus): x = w(t0), y = w(t0 + T)."""
    physics = {"viscosity": viscosity, "t_final": t_final, "t0": t0, "dt": dt, "time_steps": time_steps}
    request = _request("navier-stokes", out, resolution, test_resolutions, name=name, n_train=n_train, n_test=n_test,
                       seed=seed, device=device, **physics)  # fmt: skip
    _run(request, overwrite)


def _request(problem: str, out: Path, resolution: int, test_resolutions: str, **fields: Any) -> DataRequest:
    """A command's request: the options every problem has, then the problem's own `fields`."""
    return DataRequest(
        problem=problem,
        root=str(out),
        resolution=resolution,
        test_resolutions=_parse_resolutions(test_resolutions),
        **fields,
    )


def _parse_resolutions(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise DataError(
            f"--test-resolutions must be comma-separated integers such as 32,64, but got {text!r}"
        ) from None


def _run(request: DataRequest, overwrite: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (
        *Progress.get_default_columns()[:2],
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"{request.problem} samples", total=None)
        files = prepare(
            request,
            overwrite=overwrite,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    _print_files(files)


def _print_files(files: DatasetFiles) -> None:
    typer.echo(f"train: {files.train}")
    for res, path in sorted(files.tests.items()):
        typer.echo(f"test {res}: {path}")
