"""What `fnosweep run` shows: a live panel while trials run, the best trials at the end."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fnosweep.store import redact
from fnosweep.sweep.result import Progress, SweepResult


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
    best = result.best(k)
    table = Table(
        title=f"Best trials of {result.study_name} ({result.direction} {result.metric})", title_justify="left"
    )
    table.add_column("trial", justify="right")
    table.add_column(result.metric, justify="right")
    table.add_column("state")
    table.add_column("epochs", justify="right")
    table.add_column("verdict")
    table.add_column("parameters")
    for t in best:
        params = ", ".join(f"{k}={'none' if v is None else _fmt(v)}" for k, v in sorted(t.params.items()))
        table.add_row(str(t.number), _fmt(t.value), t.state, str(t.epochs), t.verdict or "-", params)
    return table


def summary_lines(result: SweepResult, spec_path: str) -> list[str]:
    states: dict[str, int] = {}
    for t in result.trials:
        states[t.state] = states.get(t.state, 0) + 1
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())) or "no trials"
    return [
        f"{len(result.trials)} trials: {counts}.",
        f"Study {result.study_name!r} lives in {redact(result.storage)}",
        f"Next: fnosweep diagnose {spec_path}   (the sweep's conclusion; --trial N for one trial)",
    ]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "-" if v is None else str(v)
