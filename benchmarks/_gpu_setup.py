"""The GPU machine's setup for benchmarks/gpu_check.py: wheels fetched here, installed there.

The machine's python3 holds a CUDA torch and much else (its package list:
/work/.library/device/KINDS.md) but nothing can be downloaded there, and a device call
carries at most 64 MiB: the wheels it lacks are fetched beforehand, at the versions
installed beside this script (so the machine runs what was tested), and trimmed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SITE = Path(tempfile.gettempdir()) / "fnosweep-site"
"""Where `install_wheels` puts them (on PYTHONPATH for the run and its Ray workers)."""

CARRIED = ("neuraloperator", "tensorly", "tensorly-torch", "optuna", "alembic", "Mako", "colorlog",
           "SQLAlchemy", "ray", "jsonschema", "jsonschema-specifications", "referencing", "rpds-py",
           "optuna-dashboard", "bottle", "plotly")  # fmt: skip
"""What the GPU machine's python3 lacks (its package list: /work/.library/device/KINDS.md;
the sweep's driver publishes optuna-dashboard notes with plotly figures): fetched at the
versions installed beside this script, so that the machine runs what was tested."""
TRIMMED = ("ray/jars/*", "ray/rllib/*", "ray/llm/*", "ray/dashboard/client/build/*", "tensorly/datasets/data/*",
           "optuna_dashboard/public/*", "plotly/labextension/*", "plotly/package_data/widgetbundle.js",
           "plotly/package_data/plotly.min.js", "plotly-*.data/*")  # fmt: skip
"""Files (patterns) the GPU run never loads, left out so that the wheels fit the 64 MiB a
device call carries: Ray's Java workers, RLlib and dashboard web app (a local Ray without
dashboard), tensorly's sample datasets, optuna-dashboard's web app, plotly's JavaScript
bundles and JupyterLab extension (no server, no HTML there)."""


def fetch_wheels(folder: Path) -> None:
    """Download the CARRIED wheels for CPython 3.12 on x86-64 Linux, and trim them."""
    from importlib.metadata import version

    folder.mkdir(parents=True, exist_ok=True)
    pins = [f"{name}=={version(name)}" for name in CARRIED]
    platforms = [f"--platform={p}" for p in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                                             "manylinux2014_x86_64", "manylinux1_x86_64")]  # fmt: skip
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version",
                    "3.12", "--implementation", "cp", *platforms, "-d", str(folder), *pins], check=True)  # fmt: skip
    for wheel in folder.glob("*.whl"):
        trim_wheel(wheel, TRIMMED)
    total = sum(w.stat().st_size for w in folder.glob("*.whl"))
    print(f"{len(list(folder.glob('*.whl')))} wheels, {total / 2**20:.1f} MiB in {folder}")


def trim_wheel(wheel: Path, patterns: tuple[str, ...]) -> None:
    """Rewrite a wheel without the files matching `patterns` (and their RECORD lines)."""
    import fnmatch
    import zipfile

    def dropped(name: str) -> bool:
        return any(fnmatch.fnmatch(name, p) for p in patterns)

    with zipfile.ZipFile(wheel) as src:
        if not any(dropped(i.filename) for i in src.infolist()):
            return
        trimmed = wheel.with_suffix(".trim")
        with zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                if dropped(item.filename):
                    continue
                data = src.read(item)
                if item.filename.endswith(".dist-info/RECORD"):
                    lines = data.decode().splitlines(keepends=True)
                    data = "".join(line for line in lines if not dropped(line.split(",", 1)[0])).encode()
                dst.writestr(item, data)
    trimmed.replace(wheel)


def install_wheels(folder: Path) -> None:
    """pip-install the carried wheels into SITE (no index: the GPU machine has no internet)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--no-cache-dir", "--upgrade", "--target", str(SITE), *map(str, sorted(folder.glob("*.whl")))],
                   check=True)  # fmt: skip
