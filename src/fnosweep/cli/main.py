"""The `fnosweep` command: thin commands that parse, call one library function, print.

Expected failures (`FnosweepError`) print one line on stderr and exit 1; a traceback
only with `--debug`. Heavy libraries (torch, ray, plotly) are imported inside the
commands that need them, so `--help` and `validate` stay fast.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fnosweep.errors import FnosweepError

app = typer.Typer(
    name="fnosweep",
    help="Hyperparameter sweeps for Fourier Neural Operators, with stability metrics and written diagnoses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
if not console.is_terminal:  # a log file or a pipe: rich's 80 columns would cut the knobs' columns
    console.width = max(console.width, 120)
_debug = False

SpecArg = Annotated[Path, typer.Argument(help="Sweep spec (YAML).", show_default=False)]
SetOpt = Annotated[
    list[str], typer.Option("--set", help="Override a spec field: --set training.epochs=3 (repeatable).")
]
StudyArg = Annotated[str, typer.Argument(help="A spec file, or a storage URL (with --study).", show_default=False)]
StudyOpt = Annotated[str | None, typer.Option("--study", help="Study name, when STUDY is a storage URL.")]


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    global _debug
    _debug = debug


@app.command()
def validate(spec: SpecArg, set_: SetOpt = []) -> None:  # noqa: B006 (typer reads the default)
    """Check a spec without running it: the resolved search space and the budget. Writes nothing."""
    from fnosweep.space import describe, load_spec
    from fnosweep.store import redact

    s = load_spec(spec, set_)
    typer.echo(f"{spec}: valid")
    st, d = s.study, s.data
    typer.echo(f"study     {st.name}  ({st.direction} {st.metric}; sampler {st.sampler.type}, pruner {st.pruner.type})")
    typer.echo(f"storage   {redact(s.study.storage)}")
    tests = ", ".join(map(str, d.test_resolutions))
    typer.echo(f"data      {d.problem} {d.resolution}x{d.resolution}, {d.n_train} train / {d.n_test} test at {tests}")
    typer.echo("search space:")
    for key, text in describe(s):
        typer.echo(f"  {key:<32} {text}")
    typer.echo(
        f"budget    {s.study.n_trials} trials x {s.training.epochs} epochs = at most {s.budget_epochs} epochs; "
        f"{s.execution.max_concurrent} at a time ({s.execution.backend})"
    )
    typer.echo(f"stability prune on: {', '.join(s.stability.prune_on) or 'nothing'}")


@app.command()
def run(spec: SpecArg, set_: SetOpt = []) -> None:  # noqa: B006
    """Run (or resume) a sweep: trials on Ray, live progress, then the best trials."""
    from fnosweep.space import load_spec
    from fnosweep.sweep.driver import Driver
    from fnosweep.view.dashboard import DashboardPublisher
    from fnosweep.view.live import LiveDisplay, best_table, summary_lines

    s = load_spec(spec, set_)
    with LiveDisplay(console, s.study.name) as live:
        driver = Driver(s, listener=live.update, publisher=DashboardPublisher(s.study.metric, s.study.direction))

        def stop_gracefully() -> None:
            driver.stop_requested.set()
            console.print(
                "[yellow]stopping: no new trials; running trials stop after their current epoch "
                "(Ctrl-C again to cancel them)[/]"
            )

        _on_first_interrupt(stop_gracefully)
        # a scheduler's or `docker stop`'s stop, SIGKILL seconds later: as a second Ctrl-C, at a safe point
        signal.signal(signal.SIGTERM, lambda _sig, _frame: driver.cancel_requested.set())
        result = driver.run()
    console.line()  # the live panel's last frame stays; start below it
    console.print(best_table(result))
    for line in [*result.notes, *summary_lines(result, _study_argument(spec, s))]:
        typer.echo(line)
    if result.interrupted:
        typer.echo("Interrupted: run the same command to resume.")
        raise typer.Exit(130)


@app.command()
def diagnose(
    study: Annotated[
        str | None, typer.Argument(help="A spec file, or a storage URL (with --study).", show_default=False)
    ] = None,
    study_name: StudyOpt = None,
    trial: Annotated[int | None, typer.Option("--trial", help="Diagnose one trial (by number).")] = None,
    history: Annotated[
        Path | None, typer.Option("--history", help="Diagnose a history file (JSON Lines) instead.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text (markdown) or json.")] = "text",
    target: Annotated[float | None, typer.Option("--target", help="Eval error to reach, for time-to-target.")] = None,
    suggest: Annotated[
        Path | None, typer.Option("--suggest", help="Write a follow-up spec, narrowed where the evidence is.")
    ] = None,
) -> None:
    """A written diagnosis of a trial, a whole sweep, or any run's history file."""
    import json

    from fnosweep import diagnose as dx
    from fnosweep.errors import FnosweepError
    from fnosweep.history import read_history

    if fmt not in ("text", "json"):
        raise FnosweepError(f"--format must be text or json, but got {fmt!r}")
    if target is not None and not 0 < target < float("inf"):  # curves are fitted to logs
        raise FnosweepError(f"--target must be a finite number > 0, but got {target:g}")
    if (history is None) == (study is None):
        raise FnosweepError("give a STUDY (spec file or storage URL) or --history FILE, not both or neither")
    if history is not None:
        h = read_history(history)
        result = dx.diagnose(h, target=target)
        typer.echo(
            json.dumps(result.to_json(), indent=2) if fmt == "json" else dx.render_trial(result, h, title=str(history))
        )
        return
    from fnosweep.spec import parse_stability
    from fnosweep.store.refs import find_study, trial_of
    from fnosweep.view.analysis import conclude_study, study_sweep_trials, trial_diagnosis

    assert study is not None  # exactly one of STUDY and --history, checked above
    ref = find_study(study, study_name)
    spec = ref.spec or {}
    thresholds = parse_stability((spec or {}).get("stability"), source="the study's stored spec").thresholds
    if trial is not None:
        row, h = trial_of(ref, trial)
        if fmt == "json":
            result = dx.diagnose(h, thresholds, target=target, metric=_metric_of(ref))
            error = row.error if row.state == "FAIL" else None  # the traceback the driver stored
            typer.echo(json.dumps({**result.to_json(), "state": row.state, "reason": row.reason, "error": error},
                                  indent=2))
        else:  # the same text as the report's section of this trial
            typer.echo(trial_diagnosis(ref.name, row, h, spec, target=target))
        return
    trials = study_sweep_trials(ref)
    conclusion = conclude_study(trials, spec, target=target)
    from fnosweep import conclude as cx

    typer.echo(json.dumps(conclusion.to_json(), indent=2) if fmt == "json" else cx.render_sweep(conclusion))
    if suggest is not None:
        try:
            space = cx.suggest_space(trials, direction=spec.get("study", {}).get("direction", "minimize"),
                                     space=spec.get("search"), thresholds=thresholds)
        except ValueError as e:
            raise FnosweepError(f"--suggest: {e}") from None
        note = cx.write_followup_spec(suggest, spec, space)
        searched = spec.get("search") or {}
        narrowed = [k for k in searched if space.get(k) != searched[k]]
        typer.echo(f"wrote {suggest}: {', '.join(narrowed) or 'no knob'} narrowed, the rest as searched", err=True)
        if note:
            typer.echo(note, err=True)


def _study_argument(path: Path, spec: Any) -> str:
    """What names the study that ran to `diagnose` and `report`: the spec file, unless
    `--set` moved its storage or renamed it; then the storage URL and `--study`."""
    import shlex

    from fnosweep.space import load_spec
    from fnosweep.store import redact

    try:
        plain = load_spec(path)
        same = (plain.study.storage, plain.study.name) == (spec.study.storage, spec.study.name)
    except FnosweepError:  # the file alone is not a valid spec: the overrides made it one
        same = False
    if same:
        return shlex.quote(str(path))
    return f"{shlex.quote(redact(spec.study.storage))} --study {shlex.quote(spec.study.name)}"


def _metric_of(ref: Any) -> str | None:
    return (ref.spec or {}).get("study", {}).get("metric")


def _on_first_interrupt(action: Any) -> None:
    """First Ctrl-C runs `action` (a graceful stop); the second raises KeyboardInterrupt."""

    def handler(_sig: int, _frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        action()

    signal.signal(signal.SIGINT, handler)


def _mount_subcommands() -> None:
    from fnosweep.cli.data import app as data_app
    from fnosweep.cli.submit import submit
    from fnosweep.cli.views import dashboard, report, trials

    app.command("submit")(submit)
    app.command("report")(report)
    app.command("trials")(trials)
    app.command("dashboard")(dashboard)

    app.add_typer(data_app, name="data", help="Generate PDE data offline, in neuralop's .pt format.")


_mount_subcommands()


def main() -> None:
    try:
        app()
    except FnosweepError as e:
        if _debug:
            raise
        from fnosweep.urls import redact  # the last guard: a message never shows a password

        typer.echo(f"fnosweep: {redact(str(e))}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
