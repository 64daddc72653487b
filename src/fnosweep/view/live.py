"""What `fnosweep run` shows: a live panel while trials run, the best trials at the end."""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fnosweep.diagnose import fmt
from fnosweep.store import redact
from fnosweep.sweep.result import Progress, SweepResult, searched_knobs, short_name, state_counts, verdict_counts


class LiveDisplay:
    """A rich Live panel fed by the driver's `Progress` snapshots.

    It appears with the first snapshot, so a sweep refused at start (a bad resume, a busy
    study) prints only its one error line."""

    def __init__(self, console: Console, title: str) -> None:
        self._title = title
        self._live = Live(console=console, refresh_per_second=4, transient=False)
        self._started = False

    def __enter__(self) -> LiveDisplay:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._started:
            self._live.__exit__(*exc)
            if not self._live.console.is_terminal:  # rich ends the last line only on a terminal
                self._live.console.line()  # what follows (an error) must not join it

    def update(self, p: Progress) -> None:
        if not self._started:
            self._live.__enter__()
            self._started = True
        self._live.update(render_progress(self._title, p))


def render_progress(title: str, p: Progress) -> Group:
    done = p.complete + p.pruned + p.failed
    head = Text.assemble(
        (f"{title}  ", "bold"),
        f"{done}/{p.n_trials} done  ",
        ("running ", "cyan"),
        f"{len(p.running)}  ",
        ("complete ", "green"),
        f"{p.complete}  ",
        ("pruned ", "yellow"),
        f"{p.pruned}  ",
        ("failed ", "red"),
        f"{p.failed}",
    )
    best = Text(
        f"best objective: {_fmt(p.best_value)}" + (f" (trial {p.best_trial})" if p.best_trial is not None else "")
    )
    lines: list[Any] = [head, best]
    lines += [Text(f"  trial {number}: epoch {epochs}/{budget}", style="cyan") for number, epochs, budget in p.running]
    if p.last_event:
        lines.append(Text(f"last: {p.last_event}", style="dim"))
    return Group(*lines)


def best_table(result: SweepResult, k: int = 5) -> Table:
    """The best complete trials, one line each: outcome, then one short column per searched
    knob (values to 4 significant digits, as everywhere a parameter is printed)."""
    best = result.best(k)
    table = Table(
        title=f"Best trials of {result.study_name} ({result.direction} {result.metric})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("trial", justify="right", no_wrap=True)
    table.add_column(result.metric, justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("epochs", justify="right", no_wrap=True)
    table.add_column("verdict", overflow="ellipsis", no_wrap=True)
    knobs = searched_knobs(result.trials)
    cells = [[fmt.param(t.params[key]) if key in t.params else "-" for key in knobs] for t in best]
    for key in knobs:
        table.add_column(short_name(key), justify="right", no_wrap=True)
    for t, row in zip(best, cells, strict=True):
        table.add_row(str(t.number), _fmt(t.value), t.state.lower(), str(t.epochs), t.verdict or "-", *row)
    return table


def summary_lines(result: SweepResult, spec_path: str) -> list[str]:
    outcomes = [(t.state, t.verdict, t.reason) for t in result.trials]
    knobs = searched_knobs(result.trials)
    shorts = [f"{short_name(k)} = {k}" for k in knobs if short_name(k) != k]
    return [
        f"{state_counts(outcomes)}." if outcomes else "no trials.",
        *([f"{verdict_counts(outcomes)}."] if outcomes else []),
        *([f"Columns: {', '.join(shorts)}."] if shorts else []),
        f"Study {result.study_name!r} lives in {redact(result.storage)}",
        f"Next: fnosweep diagnose {spec_path}   (the sweep's conclusion; --trial N for one trial)",
    ]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "-" if v is None else str(v)
