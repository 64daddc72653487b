"""Which study a command means: a spec file, or a storage URL with a study name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fnosweep.errors import FnosweepError, StoreError
from fnosweep.history import History, RunInfo
from fnosweep.store import Store, TrialRow, redact


@dataclass(frozen=True)
class StudyRef:
    store: Store
    name: str
    spec: dict | None
    """The spec the study was last run with (from the database), when fnosweep ran it."""


def find_study(study: str, name: str | None = None, overrides: Sequence[str] = ()) -> StudyRef:
    """STUDY is a spec file (its storage and study name) or a storage URL plus `name`."""
    if "://" not in study:
        from fnosweep.space import load_spec

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


def history_of(ref: StudyRef, number: int) -> History:
    """One trial of a study as a history file holds it (the run line and its epochs)."""
    return trial_of(ref, number)[1]


def trial_of(ref: StudyRef, number: int) -> tuple[TrialRow, History]:
    """One trial's stored row (state, reason, error) and its history; an interrupted
    attempt too (state INTERRUPTED), when asked for by its number."""
    rows = {r.number: r for r in ref.store.trials(ref.name, interrupted=True)}
    if number not in rows:
        have = sorted(rows)
        if not have:
            listing = "none"
        elif len(have) <= 12:
            listing = ", ".join(map(str, have))
        else:
            listing = f"{len(have)} trials numbered {have[0]} to {have[-1]}"
        raise FnosweepError(f"study {ref.name!r} has no trial {number}; trials: {listing}")
    epochs = ref.store.epochs(ref.name, [number]).get(number, [])
    return rows[number], History(run=rows[number].run_info or RunInfo(), epochs=tuple(epochs))
