"""The store: the only package that talks SQLAlchemy.

- `Store` (`_store`): fnosweep's tables behind one session scope that commits, or rolls
  back and re-raises as `StoreError`; reads return values (`TrialRow`, `EpochRecord`).
- `_engine`: opening a database (URL, SQLite file cases, engine settings, the tables);
  `_errors`: what a lost or damaged database raises, and its one line.
- `lock`: the driver lock's queries; `queries`: query parts the reads share; `tables`,
  `values`: the tables and the values reads return; `refs`: which study a command means;
  `sqlite`, `urls`: SQLite's read-only files and damage, the URL check.
"""

from fnosweep.store._engine import CREATE_TRIES, engine_kwargs
from fnosweep.store._errors import DATABASE_ERRORS, SQL_ERRORS, DamagedStore, damaged, database_error
from fnosweep.store._store import Store
from fnosweep.store.values import DriverLock, TrialRow
from fnosweep.urls import redact

__all__ = ["CREATE_TRIES", "DATABASE_ERRORS", "SQL_ERRORS", "DamagedStore", "DriverLock", "Store", "TrialRow",
           "damaged", "database_error", "engine_kwargs", "redact"]
