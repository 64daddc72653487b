"""The store's shared query parts: which trial rows are interrupted attempts, and the
epochs of a study's trials (`Store.trials` and the epoch reads agree on both)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from fnosweep.store import tables as t
from fnosweep.store.values import INTERRUPTED_STATE, REQUEUED


def interrupted_attempt() -> ColumnElement[bool]:
    """A trial row that is an interrupted attempt (see `INTERRUPTED_STATE`)."""
    c = t.trials.c
    return (c.state == INTERRUPTED_STATE) | ((c.state == "FAIL") & c.reason.contains(REQUEUED, autoescape=True))


def epochs_of(query: Select[Any], study_name: str, numbers: Sequence[int] | None) -> Select[Any]:
    """Epochs of a study: of `numbers`, or of the trials that are not interrupted attempts."""
    e = t.epochs.c
    query = query.where(e.study_name == study_name)
    if numbers is not None:
        return query.where(e.number.in_(list(numbers)))
    stopped = select(t.trials.c.number).where(t.trials.c.study_name == study_name, interrupted_attempt())
    return query.where(e.number.not_in(stopped))
