"""History lines: the file's text to a `History` and back, every defect one line.

JSON Lines. The first line describes the run (``"kind": "run"``), then one line per
epoch (``"kind": "epoch"``). Lines are read here, records by `_records`; the store's own
epoch lines (written from checked records) take `parse_stored`, the fast path.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from operator import attrgetter
from pathlib import Path
from typing import Any

from fnosweep.errors import HistoryError
from fnosweep.files import read_bounded, write_atomic
from fnosweep.history._records import EpochRecord, History, RunInfo, dumps

MAX_HISTORY_BYTES = 256_000_000
"""A history file is read whole; a bigger one (or a device) is refused before reading."""
MAX_LINE_CHARS = 1_000_000
"""An epoch line is about a kilobyte (a few hundred layer groups would still fit)."""
MAX_NESTING = 16
"""A history line nests 3 levels (groups -> group -> stats); json's reader recurses."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def parse_lines(lines: Iterable[str], source: str = "<history>") -> History:
    """Read history lines; any defect is one `HistoryError` naming the line number."""
    run: RunInfo | None = None
    epochs: list[EpochRecord] = []
    n = 0
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{source}, line {n}"
        if len(raw) > MAX_LINE_CHARS:
            raise HistoryError(f"{where}: is {len(raw)} characters long; a history line is at most "
                               f"{MAX_LINE_CHARS} (an epoch line is about a kilobyte)")
        if _nesting(raw) > MAX_NESTING:
            raise HistoryError(f"{where}: nests arrays or objects more than {MAX_NESTING} levels deep; "
                               "a history line nests 3")
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise HistoryError(f"{where}: not valid JSON ({e.msg}, column {e.colno})") from None
        except ValueError as e:  # e.g. an integer past Python's 4300-digit conversion limit
            raise HistoryError(f"{where}: not valid JSON ({str(e).split(';')[0]})") from None
        if not isinstance(obj, dict):
            raise HistoryError(f"{where}: expected a JSON object, but got {type(obj).__name__}")
        kind = obj.get("kind")
        try:
            if kind == "run":
                if run is not None:
                    raise ValueError("a second 'run' line; a history holds one run")
                if epochs:
                    raise ValueError("the 'run' line must come before the epochs")
                run = RunInfo.from_dict(obj)
            elif kind == "epoch":
                if run is None:
                    raise ValueError("an epoch before the 'run' line; the first line must describe the run")
                record = EpochRecord.from_dict(obj)
                if epochs and record.epoch <= epochs[-1].epoch:
                    word = "repeated" if record.epoch == epochs[-1].epoch else "out of order"
                    raise ValueError(f"epoch {record.epoch} is {word} (previous epoch {epochs[-1].epoch})")
                epochs.append(record)
            else:
                raise ValueError(f"'kind' must be 'run' or 'epoch', but got {kind!r}")
        except ValueError as e:
            raise HistoryError(f"{where}: {e}") from None
    if run is None:
        raise HistoryError(
            f'{source}: no \'run\' line; expected a JSON Lines history whose first line has "kind": "run"'
            if n
            else f"{source}: the history is empty"
        )
    return History(run=run, epochs=tuple(epochs))


def parse_stored(text: str) -> tuple[EpochRecord, ...]:
    """One trial's epoch lines as the store keeps them (joined by newlines, in any order),
    in epoch order. The store wrote each from a checked record: read as trusted."""
    records = (EpochRecord.from_dict(json.loads(line), trusted=True) for line in text.split("\n") if line)
    return tuple(sorted(records, key=attrgetter("epoch")))


def read_history(path: str | os.PathLike[str]) -> History:
    """Read a history file (DESIGN.md format)."""
    p = Path(path)
    data = read_bounded(p, MAX_HISTORY_BYTES, HistoryError, "a history file (.jsonl)")
    if len(data) > MAX_HISTORY_BYTES:
        raise HistoryError(f"{p}: is over {MAX_HISTORY_BYTES // 1_000_000} MB; a history file is at most that "
                           "(a trial of 10 000 epochs is about 10 MB)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise HistoryError(f"{p}, line {line}: not UTF-8 text (is this a binary file?)") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise HistoryError(f"{p}, line {line}: holds NUL bytes (is this a binary file?)")
    return parse_lines(text.splitlines(), source=str(p))


def _nesting(line: str) -> int:
    """How deep brackets nest in a line (brackets in strings count too: a bound, not a parse)."""
    depth = deepest = 0
    for char in _NOT_BRACKET.sub("", line):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def write_history(path: str | os.PathLike[str], history: History) -> None:
    """Write a whole history atomically: a crash leaves the old file or the new one."""
    write_atomic(path, "".join(line + "\n" for line in history.to_lines()), "the history")


def append_line(path: str | os.PathLike[str], obj: Mapping[str, Any]) -> None:
    """Append one line with a single write, flushed to disk: a crash never leaves half a line."""
    data = (dumps(obj) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
