"""The driver lock: which process drives a study, on the study's own row of the store.

A holder is a (host, pid) with a heartbeat. A new driver takes the lock when nobody holds
it, when the holder's heartbeat is older than `stale_after_s`, or at once when the holder
is a dead process of this host (a driver killed by SIGKILL leaves its lock behind). Each
function runs inside the store's transaction (`conn`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Update

from fnosweep.errors import StoreError
from fnosweep.store import tables as t
from fnosweep.store.values import DriverLock, aware, dumps, now


def take(
    conn: Connection, study_name: str, stale_after_s: float, record: Mapping[str, Any] | None
) -> DriverLock | None:
    """Take the lock, or return the live holder (then nothing changes). A study with no row
    yet is inserted with `record` (fingerprint, space, spec) and the lock together."""
    me = _me()
    at = now()
    lock = {**me, "driver_since": at, "heartbeat_at": at}
    row = conn.execute(select(t.studies).where(t.studies.c.study_name == study_name).with_for_update()).first()
    if row is None:
        if record is None:
            raise StoreError(f"study {study_name!r} has no fnosweep record; cannot lock it")
        conn.execute(t.studies.insert().values(study_name=study_name, created_at=at, **study_values(**record), **lock))
        return None
    if row.heartbeat_at is not None and row.driver_pid is not None:
        beat = aware(row.heartbeat_at)
        assert beat is not None
        mine = (row.driver_host, row.driver_pid) == (me["driver_host"], me["driver_pid"])
        dead = row.driver_host == me["driver_host"] and not _pid_alive(row.driver_pid)
        if not mine and not dead and at - beat < timedelta(seconds=stale_after_s):
            return holder(row)
    conn.execute(update(t.studies).where(t.studies.c.study_name == study_name).values(**lock))
    return None


def held_by_me(study_name: str) -> Update:
    """An UPDATE of the study's row that matches only while this process holds its lock."""
    me = _me()
    return update(t.studies).where(
        t.studies.c.study_name == study_name,
        t.studies.c.driver_host == me["driver_host"],
        t.studies.c.driver_pid == me["driver_pid"],
    )


def holder(row: Any) -> DriverLock:
    """The lock of a study row that has one (a holder, since when, its last heartbeat)."""
    since, beat = aware(row.driver_since), aware(row.heartbeat_at)
    assert since is not None and beat is not None, "a held lock has both times"
    return DriverLock(row.driver_host, row.driver_pid, since, beat)


def study_values(*, fingerprint: str, space: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, str]:
    """The study row's record columns."""
    return {"fingerprint": fingerprint, "space": dumps(space), "spec": dumps(spec)}


def _me() -> dict[str, Any]:
    """This process, as the driver lock names it."""
    return {"driver_host": socket.gethostname(), "driver_pid": os.getpid()}


def _pid_alive(pid: int) -> bool:
    """Whether a process of this host is alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
