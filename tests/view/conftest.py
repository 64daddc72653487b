"""A small real sweep in SQLite, shared by the view tests (built once, read only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from fnosweep.store.refs import StudyRef, find_study
from fnosweep.testing.synthetic_sweep import build_sweep

N_TRIALS, EPOCHS = 40, 12


@pytest.fixture(scope="session")
def sweep_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """40 finished trials (every verdict, pruned and failed ones) and one running, with the Optuna study."""
    path = tmp_path_factory.mktemp("sweep") / "s.db"
    url = f"sqlite:///{path}"
    build_sweep(url, "synthetic", n_trials=N_TRIALS, epochs=EPOCHS, running=1, seed=3)
    return url


@pytest.fixture
def ref(sweep_url: str) -> Iterator[StudyRef]:
    r = find_study(sweep_url, "synthetic")
    yield r
    r.store.close()


@pytest.fixture
def empty_study(tmp_path: Path) -> str:
    """The URL of a study (`empty`) that fnosweep registered but that has no trial yet."""
    from fnosweep.store import Store
    from fnosweep.testing.synthetic_sweep import synthetic_spec

    url = f"sqlite:///{tmp_path}/empty.db"
    store = Store.open(url)
    store.put_study("empty", fingerprint="x", space={}, spec=synthetic_spec("empty", url, n_trials=4, epochs=3))
    store.close()
    return url


@pytest.fixture(scope="session")
def app() -> typer.Typer:
    """The view commands in a Typer app of their own, registered as cli/main.py registers them."""
    from fnosweep.cli.views import dashboard, report, trials

    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("report")(report)
    app.command("trials")(trials)
    app.command("dashboard")(dashboard)
    return app
