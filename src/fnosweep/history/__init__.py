"""The history file: fnosweep's exchange format (DESIGN.md, "History file").

JSON Lines. The first line describes the run (``"kind": "run"``), then one line per
epoch (``"kind": "epoch"``). Fields a run did not measure are absent or null; keys a
reader does not know are ignored, so the format can grow. Non-finite values are
written as ``NaN`` / ``Infinity`` (what Python's ``json`` writes) and read back as
floats: divergence is exactly what a diagnosis must see.

The monitor writes it, the store keeps the same records, ``fnosweep diagnose
--history`` reads it, and ``fnosweep trials --format json`` emits it. This package is
its one parser: the records (`_records`) and the lines of a file (`_lines`).
"""

from __future__ import annotations

from fnosweep.history._lines import (
    MAX_HISTORY_BYTES,
    MAX_LINE_CHARS,
    MAX_NESTING,
    append_line,
    parse_lines,
    parse_stored,
    read_history,
    write_history,
)
from fnosweep.history._records import (
    FNO_TOP_GROUPS,
    EpochRecord,
    History,
    RunInfo,
    Stats,
    dumps,
    is_finite,
    metric_value,
)

__all__ = [
    "FNO_TOP_GROUPS",
    "MAX_HISTORY_BYTES",
    "MAX_LINE_CHARS",
    "MAX_NESTING",
    "EpochRecord",
    "History",
    "RunInfo",
    "Stats",
    "append_line",
    "dumps",
    "is_finite",
    "metric_value",
    "parse_lines",
    "parse_stored",
    "read_history",
    "write_history",
]
