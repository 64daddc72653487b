"""One exception root. Library errors are translated where they enter fnosweep;
the CLI turns any `FnosweepError` into one line on stderr and exit code 1."""

from __future__ import annotations


class FnosweepError(Exception):
    """An expected failure: bad input, an unreachable service, a refused action."""


class SpecError(FnosweepError):
    """A sweep spec that cannot be used (names the key path, the line and the bad value)."""


class HistoryError(FnosweepError):
    """A history file that cannot be read (names the file and the line number)."""


class StoreError(FnosweepError):
    """The study database refused, failed or holds something unexpected."""


class DataError(FnosweepError):
    """PDE data that cannot be generated, found or loaded."""


class MonitorError(FnosweepError):
    """A stability monitor used in a way that cannot give correct metrics."""


class ExecutionError(FnosweepError):
    """Ray or a worker failed in a way the driver cannot recover from."""
