"""`fnosweep trials`: a study's tables as CSV or Parquet, or its trials as history files.

CSV and Parquet are written by Arrow from the epoch table directly (pandas' `to_csv`
takes about 14 s for 200 000 rows; Arrow about 1 s), so a measured NaN stays `nan`
and an unmeasured value stays empty. Every file is written whole or not at all.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fnosweep.errors import FnosweepError
from fnosweep.files import atomic_path
from fnosweep.history import History, RunInfo
from fnosweep.store.refs import StudyRef
from fnosweep.view import frames

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

FORMATS = ("csv", "json", "parquet")


def table_of(ref: StudyRef, *, epochs: bool, trial: int | None = None) -> pa.Table:
    """The trials table, or with `epochs` the per-epoch table, as Arrow (optionally one trial)."""
    if epochs:
        return frames.epoch_table(ref, None if trial is None else [trial])
    frame = frames.trials_frame(ref)
    if trial is not None:
        frame = frame[frame["number"] == trial]
    return arrow_of(frame)


def arrow_of(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as Arrow; a column of mixed kinds (a categorical knob with null, 0.5 and
    "auto") becomes text, since Arrow columns hold one type."""
    import pyarrow as pa

    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            kinds = {type(v) for v in frame[col] if v is not None and v == v}
            if len(kinds) > 1:
                frame[col] = frame[col].map(lambda v: None if v is None or v != v else str(v))
    return pa.Table.from_pandas(frame, preserve_index=False)


def write_table(table: pa.Table, fmt: str, out: Path | None) -> None:
    """CSV to `out` or stdout; Parquet to `out` (binary: never to a terminal)."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        if out is None:
            raise FnosweepError("--format parquet writes a binary file: give --out FILE.parquet")
        with atomic_path(out) as tmp:
            pq.write_table(table, str(tmp))
        return
    if out is None:
        stream: BinaryIO = sys.stdout.buffer
        pcsv.write_csv(table, stream)
        stream.flush()
        return
    with atomic_path(out) as tmp:
        pcsv.write_csv(table, str(tmp))


def write_histories(ref: StudyRef, *, trial: int | None, out: Path | None) -> list[Path]:
    """History files (DESIGN.md format, what `fnosweep diagnose --history` reads).

    One trial (`trial`): to `out` or stdout. All trials: one file per trial, `out` a
    directory, `trial_<number>.jsonl` inside it."""
    if trial is not None:
        text = "".join(line + "\n" for line in frames.history_of(ref, trial).to_lines())
        if out is None:
            sys.stdout.write(text)
            return []
        with atomic_path(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return [out]
    if out is None:
        raise FnosweepError(
            "--format json writes one history file per trial: give --trial N (to stdout or --out FILE) "
            "or --out DIR for every trial"
        )
    if out.exists() and not out.is_dir():
        raise FnosweepError(f"--out {out}: exists and is not a directory (json writes one file per trial into it)")
    rows = ref.store.trials(ref.name)
    hist = frames.histories(ref.store.epoch_lines(ref.name), {r.number: r.run_info for r in rows})
    width = max(4, len(str(max((r.number for r in rows), default=0))))
    written = []
    for r in rows:
        history = hist.get(r.number) or History(run=r.run_info or RunInfo(), epochs=())
        path = out / f"trial_{r.number:0{width}d}.jsonl"
        with atomic_path(path) as tmp:
            tmp.write_text("".join(line + "\n" for line in history.to_lines()), encoding="utf-8")
        written.append(path)
    return written


def safe_filename(name: str) -> str:
    """A study name fit for a file name: no path separators, no surprises."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "study"


def describe(paths: list[Path]) -> str:
    if not paths:
        return ""
    return f"wrote {len(paths)} history file(s) to {paths[0].parent}" if len(paths) > 1 else f"wrote {paths[0]}"
