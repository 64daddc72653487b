"""The view commands (`report`, `trials`, `dashboard`) as plain Typer-annotated functions.

cli/main.py registers them (`app.command("report")(report)`). Each parses, calls one library
function, prints one line; pandas, plotly, Arrow and Optuna are imported inside, so
`fnosweep --help` stays fast. Expected failures raise `FnosweepError` (one line, exit 1).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

StudyArg = Annotated[str, typer.Argument(help="A spec file, or a storage URL (with --study).", show_default=False)]
StudyOpt = Annotated[str | None, typer.Option("--study", help="Study name, when STUDY is a storage URL.")]


class TableFormat(str, Enum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


def report(
    study: StudyArg,
    name: StudyOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file to write [default: reports/<study>.html].")
    ] = None,
) -> None:
    """One self-contained HTML report of a sweep: conclusion, stability map, curves, gradients."""
    from fnosweep.store.refs import find_study
    from fnosweep.view.export import safe_filename
    from fnosweep.view.report import make_report

    ref = find_study(study, name)
    try:
        result = make_report(ref, out or Path("reports") / f"{safe_filename(ref.name)}.html")
    finally:
        ref.store.close()
    typer.echo(f"wrote {result.path} ({result.size_bytes / 1e6:.1f} MB, {result.n_trials} trials)")


def trials(
    study: StudyArg,
    name: StudyOpt = None,
    fmt: Annotated[
        TableFormat,
        typer.Option(
            "--format",
            help="csv and parquet: a table; json: history files "
            "(DESIGN.md format, read by `fnosweep diagnose --history`).",
        ),
    ] = TableFormat.csv,
    epochs: Annotated[
        bool, typer.Option("--epochs", help="One row per trial and epoch, every metric (csv, parquet).")
    ] = False,
    trial: Annotated[int | None, typer.Option("--trial", help="Only this trial number.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="File to write (stdout for csv and a single json trial); "
            "for json without --trial, a directory of trial_<N>.jsonl files.",
        ),
    ] = None,
) -> None:
    """A sweep's trials (or epochs) as a table, or its trials as history files."""
    from fnosweep.store.refs import find_study
    from fnosweep.view import export

    ref = find_study(study, name)
    try:
        if fmt is TableFormat.json:
            message = export.describe(export.write_histories(ref, trial=trial, out=out))
        else:
            table = export.table_of(ref, epochs=epochs, trial=trial)
            export.write_table(table, fmt.value, out)
            message = f"wrote {out} ({table.num_rows} rows)" if out else ""
    finally:
        ref.store.close()
    if message:
        typer.echo(message, err=out is None)


def dashboard(
    storage: Annotated[
        str, typer.Argument(help="A storage URL (sqlite:///studies/x.db) or a spec file.", show_default=False)
    ],
    name: StudyOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind; the dashboard has no login.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
) -> None:
    """optuna-dashboard on the study: verdicts, key numbers, diagnoses and stability figures in it."""
    from fnosweep.store import Store, redact
    from fnosweep.store.refs import find_study
    from fnosweep.view.dashboard import LOOPBACK, serve, study_url

    if name is not None or "://" not in storage:
        ref = find_study(storage, name)  # unknown study: the error lists the ones there
        url, names = ref.store.url, [ref.name]
        ref.store.close()
    else:
        store = Store.open(storage, create=False)  # a missing file is an error, not a new database
        url, names = storage, store.study_names()
        store.close()
    if host not in LOOPBACK:
        typer.echo(
            f"warning: serving on {host}: the dashboard has no login, and anyone who reaches "
            f"port {port} can read and change the study",
            err=True,
        )
    link = study_url(url, names[0] if len(names) == 1 else None, host=host, port=port)
    studies = f"{len(names)} stud{'y' if len(names) == 1 else 'ies'}"
    typer.echo(f"optuna-dashboard on {redact(url)} ({studies}): {link}  (Ctrl-C to stop)")
    serve(url, host=host, port=port)
