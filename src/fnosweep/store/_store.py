"""`Store`: fnosweep's tables in the study database, behind one session scope.

Every call goes through one session scope that commits, or rolls back and re-raises
as `StoreError`. Reads return value objects (`TrialRow`, `EpochRecord`), never rows.
Epoch writes are idempotent (unique on study, trial and epoch), so a retried or
replayed record never duplicates an epoch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, case, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from fnosweep.errors import StoreError
from fnosweep.history import EpochRecord, RunInfo
from fnosweep.store import lock
from fnosweep.store import tables as t
from fnosweep.store._engine import open_engine
from fnosweep.store._errors import damaged, first_line
from fnosweep.store.queries import epochs_of, interrupted_attempt
from fnosweep.store.values import INTERRUPTED_STATE, DriverLock, TrialRow, dumps, now, trial_row
from fnosweep.urls import redact

RETRY_PAUSES_S = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Pauses between tries of a write while the database is unreachable (about 15 s in all)."""


class Store:
    """fnosweep's tables in the study database."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> Store:
        """Open (and by default create) fnosweep's tables at a storage URL (see `open_engine`)."""
        engine, url = open_engine(url, create=create)
        return cls(engine, url)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise damaged(self.url, e) or StoreError(f"storage {redact(self.url)}: {first_line(e)}") from e

    def _retrying(self, write: Callable[[Connection], Any]) -> Any:
        """Run one write transaction, retried while the database is unreachable.

        Every write of the driver is idempotent (upserts and updates by key), so a
        transaction that failed on a dropped connection can simply run again. SQLite has
        no connection to drop: its errors (a full disk, a bad page) do not pass by waiting.
        """
        for attempt, pause in enumerate((*RETRY_PAUSES_S, None)):
            try:
                with self._engine.begin() as conn:
                    return write(conn)
            except (OperationalError, InterfaceError) as e:
                if self._engine.dialect.name == "sqlite":
                    raise StoreError(f"storage {redact(self.url)}: {first_line(e)}") from e
                if pause is None:
                    raise StoreError(
                        f"storage {redact(self.url)} unreachable after {attempt + 1} tries over "
                        f"{sum(RETRY_PAUSES_S):.0f} s: {first_line(e)}"
                    ) from e
                time.sleep(pause)
            except SQLAlchemyError as e:
                raise damaged(self.url, e) or StoreError(f"storage {redact(self.url)}: {first_line(e)}") from e
        raise AssertionError("unreachable")

    # -- studies ---------------------------------------------------------------------

    def study_meta(self, study_name: str) -> tuple[str, dict[str, Any]] | None:
        """(fingerprint, search space) recorded for a study, or None for a new one."""
        with self._tx() as conn:
            row = conn.execute(
                select(t.studies.c.fingerprint, t.studies.c.space).where(t.studies.c.study_name == study_name)
            ).first()
        return None if row is None else (row.fingerprint, json.loads(row.space))

    def put_study(
        self, study_name: str, *, fingerprint: str, space: Mapping[str, Any], spec: Mapping[str, Any]
    ) -> None:
        values = lock.study_values(fingerprint=fingerprint, space=space, spec=spec)
        with self._tx() as conn:
            done = conn.execute(update(t.studies).where(t.studies.c.study_name == study_name).values(**values))
            if done.rowcount == 0:
                conn.execute(t.studies.insert().values(study_name=study_name, created_at=now(), **values))

    def study_names(self) -> list[str]:
        with self._tx() as conn:
            return list(conn.execute(select(t.studies.c.study_name).order_by(t.studies.c.study_name)).scalars())

    def study_spec(self, study_name: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            row = conn.execute(select(t.studies.c.spec).where(t.studies.c.study_name == study_name)).first()
        return None if row is None else json.loads(row.spec)

    # -- the driver lock -------------------------------------------------------------

    def acquire_driver(
        self, study_name: str, *, stale_after_s: float, record: Mapping[str, Any] | None = None
    ) -> DriverLock | None:
        """Take the study's driver lock. Returns the live holder instead when another
        driver's heartbeat is younger than `stale_after_s` (then nothing changes).

        A study with no fnosweep record yet gets `record` (`put_study`'s fingerprint,
        space and spec) in the same transaction as the lock, so a driver writes the
        study record only once it holds the lock; without `record` it cannot be locked."""
        for tries_left in (1, 0):  # two new drivers may race to insert the record: one loses, then reads it
            try:
                with self._tx() as conn:
                    return lock.take(conn, study_name, stale_after_s, record)
            except StoreError as e:
                if tries_left and isinstance(e.__cause__, IntegrityError):
                    continue
                raise
        raise AssertionError("unreachable")

    def heartbeat(self, study_name: str) -> bool:
        """Prove this driver alive. False when the lock is no longer this process's
        (another driver took it over after this one's heartbeat went stale, or it was
        released): then this driver must stop writing to the study."""
        return self._retrying(
            lambda conn: conn.execute(lock.held_by_me(study_name).values(heartbeat_at=now())).rowcount == 1
        )

    def driver_lock(self, study_name: str) -> DriverLock | None:
        """Who holds the study's driver lock (None: nobody, or no such study)."""
        with self._tx() as conn:
            row = conn.execute(select(t.studies).where(t.studies.c.study_name == study_name)).first()
        return None if row is None or row.driver_pid is None or row.heartbeat_at is None else lock.holder(row)

    def release_driver(self, study_name: str) -> None:
        """Drop the lock if this process holds it (a lock another driver took stays its)."""
        with self._tx() as conn:
            release = lock.held_by_me(study_name)
            conn.execute(release.values(driver_host=None, driver_pid=None, driver_since=None, heartbeat_at=None))

    # -- trials ----------------------------------------------------------------------

    def start_trial(self, study_name: str, number: int, *, params: Mapping[str, Any], attempt: int = 0) -> None:
        """Record a trial as RUNNING. A new attempt drops the epochs of the last one."""
        values = {
            "attempt": attempt,
            "state": "RUNNING",
            "params": dumps(params),
            "started_at": now(),
            "run_info": None,
            "value": None,
            "verdict": None,
            "diagnosis": None,
            "reason": None,
            "error": None,
            "finished_at": None,
        }
        key = (t.trials.c.study_name == study_name) & (t.trials.c.number == number)

        def write(conn: Connection) -> None:
            conn.execute(delete(t.epochs).where(t.epochs.c.study_name == study_name, t.epochs.c.number == number))
            if conn.execute(update(t.trials).where(key).values(**values)).rowcount == 0:
                conn.execute(t.trials.insert().values(study_name=study_name, number=number, **values))

        self._retrying(write)

    def put_run_info(self, study_name: str, number: int, run: RunInfo) -> None:
        self._retrying(
            lambda conn: conn.execute(
                update(t.trials)
                .where(t.trials.c.study_name == study_name, t.trials.c.number == number)
                .values(run_info=dumps(run.to_dict()))
            )
        )

    def put_epoch(self, study_name: str, number: int, record: EpochRecord, *, attempt: int = 0) -> None:
        """Write one epoch, committed at once; writing the same epoch again replaces it."""
        values = {
            "study_name": study_name,
            "number": number,
            "epoch": record.epoch,
            "attempt": attempt,
            "record": dumps(record.to_dict()),
        }
        self._retrying(lambda conn: conn.execute(_upsert(conn, t.epochs, values, ["study_name", "number", "epoch"])))

    def finish_trial(
        self,
        study_name: str,
        number: int,
        *,
        state: str,
        value: float | None = None,
        verdict: str | None = None,
        diagnosis: Mapping[str, Any] | None = None,
        reason: str | None = None,
        error: str | None = None,
    ) -> None:
        self._retrying(
            lambda conn: conn.execute(
                update(t.trials)
                .where(t.trials.c.study_name == study_name, t.trials.c.number == number)
                .values(
                    state=state,
                    value=value,
                    verdict=verdict,
                    diagnosis=None if diagnosis is None else dumps(diagnosis),
                    reason=reason,
                    error=error,
                    finished_at=now(),
                )
            )
        )

    def trials(self, study_name: str, *, interrupted: bool = False) -> list[TrialRow]:
        """The study's trials. An attempt the driver stopped and re-queued is no outcome of
        its parameters (they run again under a new number): left out, unless `interrupted`
        asks for it, then with state INTERRUPTED."""
        state = case((interrupted_attempt(), INTERRUPTED_STATE), else_=t.trials.c.state).label("state")
        query = select(*(c for c in t.trials.c if c.name != "state"), state).where(t.trials.c.study_name == study_name)
        if not interrupted:
            query = query.where(~interrupted_attempt())
        with self._tx() as conn:
            rows = conn.execute(query.order_by(t.trials.c.number)).all()
        return [trial_row(r) for r in rows]

    def epochs(self, study_name: str, numbers: Sequence[int] | None = None) -> dict[int, list[EpochRecord]]:
        """Epoch records per trial number, in epoch order: of `numbers`, or of every trial
        `trials` lists (interrupted attempts left out)."""
        query = epochs_of(select(t.epochs.c.number, t.epochs.c.record), study_name, numbers)
        out: dict[int, list[EpochRecord]] = {}
        with self._tx() as conn:
            for number, record in conn.execute(query.order_by(t.epochs.c.number, t.epochs.c.epoch)):
                out.setdefault(number, []).append(EpochRecord.from_dict(json.loads(record)))
        return out

    def epoch_lines(self, study_name: str, numbers: Sequence[int] | None = None) -> list[tuple[int, int, str]]:
        """Per trial: (number, epochs, its epoch lines joined by newlines), records unparsed.

        For bulk readers (the report, `trials --epochs`): `epochs` parses and validates every
        record, right for one trial but about 10 s at 200 000 epochs; Arrow's JSON reader
        parses these lines in one go. The database joins the lines: one row per trial is a
        third of the time of one per epoch, and one query is one snapshot of a study the
        driver may be writing. Lines within a trial come in no guaranteed order."""
        e = t.epochs.c
        query = epochs_of(
            select(e.number, func.count(), func.aggregate_strings(e.record, "\n")), study_name, numbers
        ).group_by(e.number).order_by(e.number)
        with self._tx() as conn:
            return [(n, c, text) for n, c, text in conn.execute(query)]

    def epoch_counts(self, study_name: str) -> dict[int, int]:
        """Epochs recorded per trial number, for the trials `trials` lists (trials without
        epochs are absent)."""
        e = t.epochs.c
        with self._tx() as conn:
            rows = conn.execute(epochs_of(select(e.number, func.count()), study_name, None).group_by(e.number))
            return {n: c for n, c in rows}

    def bulk_insert(self, trial_rows: Sequence[Mapping[str, Any]], epoch_rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many trials and epochs in one transaction, as rows of the tables' columns
        (synthetic stores for benchmarks and tests; imports)."""
        with self._tx() as conn:
            if trial_rows:
                conn.execute(t.trials.insert(), list(trial_rows))
            if epoch_rows:
                conn.execute(t.epochs.insert(), list(epoch_rows))

    def epoch_count(self, study_name: str) -> int:
        with self._tx() as conn:
            return conn.execute(
                select(func.count()).select_from(t.epochs).where(t.epochs.c.study_name == study_name)
            ).scalar_one()


def _upsert(conn: Connection, table: Any, values: dict[str, Any], keys: list[str]) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt: Any = insert(table).values(**values)
    return stmt.on_conflict_do_update(index_elements=keys, set_={k: stmt.excluded[k] for k in values if k not in keys})
