"""The store's value objects: what reads return instead of database rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fnosweep.history import RunInfo
from fnosweep.history import dumps as history_dumps

INTERRUPTED_STATE = "INTERRUPTED"
"""The store's state of an attempt the driver stopped and re-queued (Ctrl-C, a dead or
displaced driver): not an outcome of its parameters. Optuna has it as FAIL, marked
`fnosweep:interrupted`; the store's readers leave it out unless asked for it."""
REQUEUED = "; parameters re-queued"
"""How the reason of a re-queued attempt ends (studies written before INTERRUPTED_STATE
stored such attempts as FAIL: the reason tells them apart)."""


@dataclass(frozen=True)
class TrialRow:
    """What fnosweep knows of one trial beside Optuna's own record."""

    study_name: str
    number: int
    attempt: int
    state: str
    """COMPLETE, PRUNED, FAIL, RUNNING, or INTERRUPTED (`INTERRUPTED_STATE`)."""
    params: Mapping[str, Any]
    run_info: RunInfo | None
    value: float | None
    verdict: str | None
    diagnosis: Mapping[str, Any] | None
    reason: str | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class DriverLock:
    host: str
    pid: int
    since: datetime
    heartbeat_at: datetime


def trial_row(r: Any) -> TrialRow:
    return TrialRow(
        study_name=r.study_name,
        number=r.number,
        attempt=r.attempt,
        state=r.state,
        params=json.loads(r.params),
        run_info=None if r.run_info is None else RunInfo.from_dict(json.loads(r.run_info)),
        value=r.value,
        verdict=r.verdict,
        diagnosis=None if r.diagnosis is None else json.loads(r.diagnosis),
        reason=r.reason,
        error=r.error,
        started_at=aware(r.started_at),
        finished_at=aware(r.finished_at),
    )


def dumps(obj: Any) -> str:
    """A column's JSON, in the history's encoding; a value JSON has no type for (a date a
    spec's YAML gave) is kept as its text rather than refused."""
    return history_dumps(obj, default=str)


def now() -> datetime:
    return datetime.now(UTC)


def aware(ts: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything fnosweep writes is UTC.
    if ts is None or ts.tzinfo is not None:
        return ts
    return ts.replace(tzinfo=UTC)
