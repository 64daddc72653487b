"""Which study a command means: a spec file, or a storage URL with a study name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fnosweep.errors import FnosweepError, StoreError
from fnosweep.history import History, RunInfo
from fnosweep.store import Store, redact


@dataclass(frozen=True)
class StudyRef:
    store: Store
    name: str
    spec: dict | None
    """The spec the study was last run with (from the database), when fnosweep ran it."""


def open_study(study: str, name: str | None = None, overrides: Sequence[str] = ()) -> StudyRef:
    """STUDY is a spec file (its storage and study name) or a storage URL plus `name`."""
    if "://" not in study:
        from fnosweep.spec import load_spec

        spec = load_spec(study, overrides)
        url, name = spec.study.storage, name or spec.study.name
    else:
        url = study
    store = Store.open(url, create=False)
    names = store.study_names()
    if name is None:
        if len(names) != 1:
            store.close()
            listing = ", ".join(names) if names else "none"
            raise FnosweepError(f"{redact(url)} holds {len(names)} fnosweep studies ({listing}); name one with --study")
        name = names[0]
    if name not in names:
        store.close()
        listing = ", ".join(names) if names else "none yet"
        raise StoreError(f"no study {name!r} in {redact(url)}; studies there: {listing}")
    return StudyRef(store=store, name=name, spec=store.study_spec(name))


def default_report_path(name: str) -> Path:
    return Path("reports") / f"{name}.html"


def thresholds_of(ref: StudyRef) -> Any:
    """The diagnosis thresholds the study was run with (defaults for a study fnosweep did not run)."""
    from fnosweep.diagnose.thresholds import Thresholds

    if ref.spec is None:
        return Thresholds()
    from fnosweep.spec import parse_spec

    try:
        return parse_spec(ref.spec, source=f"study {ref.name}").stability.thresholds
    except FnosweepError:
        return Thresholds()


def history_of(ref: StudyRef, number: int) -> History:
    """One trial of a study as a history (the run line and its epochs)."""
    rows = {r.number: r for r in ref.store.trials(ref.name)}
    if number not in rows:
        known = ", ".join(map(str, rows)) or "none"
        raise FnosweepError(f"study {ref.name!r} has no trial {number}; trials: {known}")
    epochs = ref.store.epochs(ref.name, [number]).get(number, [])
    return History(run=rows[number].run_info or RunInfo(), epochs=tuple(epochs))


def sweep_trials(ref: StudyRef) -> list[Any]:
    """Every finished or running trial as the diagnosis's `SweepTrial` values."""
    from fnosweep.diagnose import SweepTrial

    epochs = ref.store.epochs(ref.name)
    return [
        SweepTrial(
            number=r.number,
            state=r.state,
            params=dict(r.params),
            value=r.value,
            history=History(run=r.run_info or RunInfo(), epochs=tuple(epochs.get(r.number, []))),
            prune_reason=r.reason if r.state == "PRUNED" else None,
            verdict=r.verdict,
        )
        for r in ref.store.trials(ref.name)
    ]
