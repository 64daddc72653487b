"""fnosweep's tables, beside Optuna's in the same database.

Optuna owns `studies`, `trials`, ...; ours are prefixed `fnosweep_`. Rows are keyed by
study name and trial number (what users see), not by Optuna's internal ids. JSON is
stored as text written by Python's `json`, which keeps NaN and Infinity (PostgreSQL's
JSON type refuses them, and divergence is what a diagnosis must see).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

studies = Table(
    "fnosweep_studies",
    metadata,
    Column("study_name", String(512), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("space", Text, nullable=False, doc="canonical search space (JSON) behind the fingerprint"),
    Column("spec", Text, nullable=False, doc="the spec the study was last run with (JSON)"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Driver lock: one driver per study; a stale heartbeat means the driver died.
    Column("driver_host", String(256)),
    Column("driver_pid", Integer),
    Column("driver_since", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True)),
)

trials = Table(
    "fnosweep_trials",
    metadata,
    Column("study_name", String(512), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("attempt", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False, doc="RUNNING, COMPLETE, PRUNED, FAIL, INTERRUPTED (re-queued)"),
    Column("params", Text, nullable=False, doc="JSON"),
    Column("run_info", Text, doc="the history file's run line (JSON)"),
    Column("value", Float),
    Column("verdict", String(32)),
    Column("diagnosis", Text, doc="findings (JSON, DESIGN.md shape)"),
    Column("reason", Text, doc="why the trial was pruned or failed, in one line"),
    Column("error", Text, doc="traceback of a failed trial"),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

epochs = Table(
    "fnosweep_epochs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_name", String(512), nullable=False),
    Column("number", Integer, nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("record", Text, nullable=False, doc="the history file's epoch line (JSON)"),
    UniqueConstraint("study_name", "number", "epoch", name="uq_fnosweep_epochs_trial_epoch"),
)
