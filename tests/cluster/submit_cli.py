"""`fnosweep submit` on a tiny Typer app, as `fnosweep.cli` registers it, for the cluster tests.

Run as a script (`python submit_cli.py SPEC --address ...`), so each call has its own
process: its own environment (the cluster's token) and no Ray state of the test run.
"""

from __future__ import annotations

import sys

import typer

from fnosweep.cli.submit import submit
from fnosweep.errors import FnosweepError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("submit")(submit)


@app.callback()
def _group() -> None:
    """Keeps `submit` a subcommand, as in `fnosweep submit`."""


def main() -> None:
    try:
        app()
    except FnosweepError as e:  # what fnosweep.cli.main does with an expected failure
        typer.echo(f"fnosweep: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
