"""SQLite files the store reads without writing, and database errors that mean damage."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26
"""sqlite3's result codes for a damaged page and a file that is no database."""


def sqlite_read_only(db: Path) -> bool:
    """True when this process may not write the database file or its directory (a read-only
    mount, another user's file). SQLite's WAL mode then cannot open it for writing."""
    return not os.access(db, os.W_OK) or not os.access(db.parent, os.W_OK)


def sqlite_read_only_url(db: Path) -> str:
    """A URL that opens `db` read-only (`mode=ro`). Without a `-wal` file beside it (a cleanly
    closed study), also `immutable=1`: SQLite then needs no `-shm` file, which a read-only
    directory cannot hold; nobody can write the file meanwhile, as nobody here may."""
    path = urllib.parse.quote(str(db.resolve()))
    wal = db.with_name(db.name + "-wal")
    immutable = "" if wal.exists() else "&immutable=1"
    return f"sqlite:///file:{path}?mode=ro{immutable}&uri=true"


def corruption(e: BaseException) -> str | None:
    """The database's own words when `e` (or an exception it was raised from) says the
    database is damaged rather than unreachable; None otherwise."""
    seen: set[int] = set()
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlite_errorcode", None)
        sqlstate = getattr(current, "sqlstate", None)
        if code in (SQLITE_CORRUPT, SQLITE_NOTADB) or (isinstance(sqlstate, str) and sqlstate.startswith("XX00")):
            return str(current).strip().splitlines()[0] if str(current).strip() else type(current).__name__
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None
