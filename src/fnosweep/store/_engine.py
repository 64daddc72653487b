"""Opening a study database: the URL checked, a SQLite file's cases (missing, empty,
read-only), the engine's settings, and fnosweep's tables created by racing drivers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from fnosweep.errors import StoreError
from fnosweep.store import tables as t
from fnosweep.store._errors import damaged, first_line
from fnosweep.store.sqlite import sqlite_read_only, sqlite_read_only_url
from fnosweep.store.urls import url_problem
from fnosweep.urls import redact

CREATE_TRIES = 5
"""Looks at a fresh database's tables by drivers racing to create them (each lost race
means another driver created a table; fnosweep has 3)."""
SQLITE_BUSY_TIMEOUT_S = 30
"""How long a SQLite writer waits for a reader's lock (a dashboard reading the file)."""
EMPTY_GRACE_S = 2.0
"""How long a zero-byte database file may be another process's file in the making (SQLite
creates it empty and writes its first page a moment later)."""


def engine_kwargs(url: str) -> dict[str, Any]:
    """Connection settings shared by fnosweep's engine and Optuna's RDBStorage."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {"pool_pre_ping": True}


def open_engine(url: str, *, create: bool) -> tuple[Engine, str]:
    """An engine on fnosweep's tables at a storage URL (created, by default), and the URL as
    the store keeps it (a bare `postgresql://` gets psycopg 3's driver name).

    SQLite files get WAL journaling: readers (a dashboard, `fnosweep report`) then
    never block the driver, the study's only writer.
    """
    problem = url_problem(url)
    if problem is not None:
        raise StoreError(
            f"storage URL {redact(url)!r} is not a database URL ({problem}); expected e.g. "
            "sqlite:///studies/x.db or postgresql+psycopg://user@host/db"
        )
    parsed = make_url(url)
    read_only = False
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db = Path(parsed.database)
        if not create and not db.exists():
            raise StoreError(f"storage {redact(url)}: no such database file {db}")
        if db.is_file() and _empty_for_good(db):  # SQLite would take it for a new, empty database
            raise StoreError(
                f"storage {redact(url)}: the file is empty (0 bytes), not a study database; if a run was "
                "killed while creating it, delete it and run again, else restore it from a backup"
            )
        read_only = not create and sqlite_read_only(db)
        if create:
            try:
                db.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"storage {redact(url)}: cannot create {db.parent}: {e.strerror}") from None
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # a read-only mount, another user's file: a reader need not write (messages keep `url`)
    engine_url = sqlite_read_only_url(Path(parsed.database or "")) if read_only else url
    try:
        engine = create_engine(engine_url, **engine_kwargs(url))
    except (ArgumentError, ImportError) as e:
        raise StoreError(f"storage {redact(url)}: {redact(str(e))}") from None
    if engine.dialect.name == "sqlite" and not read_only:
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if create:
            _create_tables(engine)
        else:
            with engine.begin() as conn:
                if not inspect(conn).has_table(t.studies.name):
                    raise StoreError(f"storage {redact(url)} holds no fnosweep study (no table {t.studies.name})")
    except SQLAlchemyError as e:
        engine.dispose()
        raise damaged(url, e) or StoreError(f"cannot open storage {redact(url)}: {first_line(e)}") from None
    except StoreError:
        engine.dispose()  # no connection left open behind a refusal
        raise
    return engine, url


def _create_tables(engine: Engine) -> None:
    """Create fnosweep's tables where missing. Two processes opening a fresh database at
    once both see no table and both create it: the loser's "already exists" (on PostgreSQL
    a duplicate type name) means another made a table meanwhile: the next look skips it."""
    for tries_left in reversed(range(CREATE_TRIES)):
        try:
            with engine.begin() as conn:
                t.metadata.create_all(conn)
            return
        except (OperationalError, IntegrityError, ProgrammingError):
            if not tries_left:
                raise


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses no committed epoch
    cur.close()


def _empty_for_good(db: Path) -> bool:
    """Whether `db` is a zero-byte file that is not about to be written by a process creating
    it right now: it stays empty through `EMPTY_GRACE_S` after its last change."""
    while True:
        st = db.stat()
        if st.st_size > 0:
            return False
        if time.time() - st.st_mtime >= EMPTY_GRACE_S:
            return True
        time.sleep(0.05)
