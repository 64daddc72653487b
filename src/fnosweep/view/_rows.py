"""Bulk reads of fnosweep's tables for the views (to move into `Store`; see docs/report.md).

`Store.epochs` parses every record into an `EpochRecord` (validation included): right for
one trial, about 10 s for a sweep of 200 000 epochs. The views read the raw JSON lines
instead and let Arrow's C++ reader parse them in one go; it keeps NaN and Infinity (the
format's non-finite values) and tells them apart from an absent value (null).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from fnosweep.errors import StoreError
from fnosweep.store import Store, redact
from fnosweep.store import tables as t


def epoch_lines(store: Store, study: str, numbers: Sequence[int] | None = None) -> list[tuple[int, int, str]]:
    """Per trial: (number, epochs, its epoch lines joined by newlines), records unparsed.

    The database joins the lines (`group_concat` / `string_agg`): one row per trial instead
    of one per epoch is a third of the time at 200 000 epochs, and one query is one snapshot
    of a study the driver may be writing. Lines within a trial come in no guaranteed order:
    sort after parsing."""
    e = t.epochs.c
    query = (
        select(e.number, func.count(), func.aggregate_strings(e.record, "\n"))
        .where(e.study_name == study)
        .group_by(e.number)
        .order_by(e.number)
    )
    if numbers is not None:
        query = query.where(e.number.in_(list(numbers)))
    return [(n, c, text) for n, c, text in _run(store, query)]


def epoch_counts(store: Store, study: str) -> dict[int, int]:
    """Epochs recorded per trial number (trials without epochs are absent)."""
    query = select(t.epochs.c.number, func.count()).where(t.epochs.c.study_name == study).group_by(t.epochs.c.number)
    return {n: c for n, c in _run(store, query)}


def _run(store: Store, query: Any) -> list[Any]:
    try:
        with store._engine.connect() as conn:
            return list(conn.execute(query))
    except SQLAlchemyError as e:
        raise StoreError(f"storage {redact(store.url)}: {str(getattr(e, 'orig', e)).splitlines()[0]}") from None
