"""What a lost or broken database raises, and the one line a user reads of it.

SQLAlchemy's errors stay inside the store: callers catch `DATABASE_ERRORS` (which also
covers what Optuna's own storage calls let through) without importing SQLAlchemy.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from fnosweep.errors import StoreError
from fnosweep.store.sqlite import corruption
from fnosweep.urls import redact

SQL_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError,)
"""What a database raises under Optuna's storage calls (which let SQLAlchemy's errors through)."""
DATABASE_ERRORS: tuple[type[Exception], ...] = (StoreError, *SQL_ERRORS)
"""What a lost or broken database raises, in the store or in Optuna's own storage calls:
callers catch these without importing SQLAlchemy."""


class DamagedStore(StoreError):
    """The study database is damaged (a corrupt page, not a database): waiting will not help."""


def damaged(url: str, e: BaseException) -> DamagedStore | None:
    """The error to raise when `e` says the database at `url` is damaged; None when it does not."""
    detail = corruption(e)
    if detail is None:
        return None
    backup = " (for SQLite, `sqlite3 FILE .recover` may save part of it)" if url.startswith("sqlite") else ""
    return DamagedStore(f"storage {redact(url)} is damaged ({redact(detail)}): restore it from a backup{backup}")


def database_error(e: BaseException) -> str:
    """One line for a database error, whichever layer raised it: the store's own message, or
    the database's under Optuna's wrapper (whose own text blames "invalid data" for any)."""
    if isinstance(e, StoreError):
        return str(e).strip().splitlines()[0]
    cause = e.__cause__ if isinstance(e.__cause__, SQLAlchemyError) else e
    return first_line(cause)


def first_line(e: BaseException) -> str:
    """The database's own first line of `e` (the driver's error under SQLAlchemy's), redacted."""
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip()
    return redact(text.splitlines()[0]) if text else type(e).__name__
