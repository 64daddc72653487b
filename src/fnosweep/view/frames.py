"""A study as tables: one row per trial, one row per trial and epoch (pandas).

`load(STUDY)` (exported as `fnosweep.load`) is the notebook entry point; the report,
`fnosweep trials` and the dashboard figures read through the same functions, so a
notebook sees exactly the numbers the report draws.

Epoch columns are the history format flattened with dots: `eval.32_l2`, `grad_norm.p95`,
`groups.fno_blocks.max`, `groups.fno_blocks.0.mean`. NaN and ±inf are kept (divergence is
what a reader needs to see); a metric an epoch did not measure is missing (NaN in pandas,
null in Arrow, where the difference from NaN survives).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fnosweep.history import EpochRecord, History, RunInfo, parse_stored
from fnosweep.store.refs import StudyRef, find_study, history_of  # noqa: F401 (history_of: re-exported for the view)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from fnosweep.store import TrialRow

_FIELDS = [f for f in EpochRecord.__dataclass_fields__ if f != "epoch"]
_GRAD_ORDER = {"median": 0, "p95": 1, "max": 2, "first": 3}
_LOSS_ORDER = {"l2": 0, "h1": 1}
_STAT_ORDER = {"mean": 0, "max": 1}
_GROUP_ORDER = {"lifting": 0, "fno_blocks": 1, "projection": 2}
_INT_COLUMNS = {"epoch", "steps", "nonfinite_steps", "nonfinite_loss_steps", "skipped_steps", "peak_mem_bytes"}
EpochLines = Sequence[tuple[int, int, str]]
"""Per trial: (number, epochs, its epoch lines joined by newlines), as `Store.epoch_lines` gives them."""
_RUN_FIELDS = (
    "n_train",
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "clip_threshold",
    "scheduler",
    "loss",
    "epochs",
)


@dataclass(frozen=True)
class Loaded:
    """A study's trials and epochs as DataFrames (see the module docs for the columns)."""

    trials: pd.DataFrame
    epochs: pd.DataFrame


def load(study: str, name: str | None = None) -> Loaded:
    """Read a study (a spec file, or a storage URL with `name`) into DataFrames."""
    ref = find_study(study, name)
    try:
        return Loaded(trials=trials_frame(ref), epochs=epochs_frame(ref))
    finally:
        ref.store.close()


def trials_frame(ref: StudyRef, rows: Sequence[TrialRow] | None = None) -> pd.DataFrame:
    """One row per trial: number, state, verdict, objective, epochs, duration_s, n_params,
    params_per_sample, reason, then `param.<key>` per searched knob and `run.<field>`."""
    import pandas as pd

    rows = ref.store.trials(ref.name) if rows is None else rows
    counts = ref.store.epoch_counts(ref.name)
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r.params))
    records = []
    for r in rows:
        run = r.run_info or RunInfo()
        duration = (r.finished_at - r.started_at).total_seconds() if r.finished_at and r.started_at else math.nan
        rec: dict[str, Any] = {
            "number": r.number,
            "state": r.state,
            "verdict": r.verdict,
            "objective": r.value,
            "epochs": counts.get(r.number, 0),
            "duration_s": duration,
            "n_params": run.n_params,
            "params_per_sample": run.params_per_sample,
            "reason": r.reason,
        }
        rec.update({f"param.{k}": r.params.get(k) for k in keys})
        rec.update({f"run.{f}": getattr(run, f) for f in _RUN_FIELDS})
        records.append(rec)
    columns = [
        "number",
        "state",
        "verdict",
        "objective",
        "epochs",
        "duration_s",
        "n_params",
        "params_per_sample",
        "reason",
        *(f"param.{k}" for k in keys),
        *(f"run.{f}" for f in _RUN_FIELDS),
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for col in ("objective", "duration_s", "params_per_sample"):
        frame[col] = frame[col].astype(float)
    frame["n_params"] = frame["n_params"].astype("Int64")
    return frame


def epoch_table(ref: StudyRef, numbers: Sequence[int] | None = None, *, schema: pa.Schema | None = None) -> pa.Table:
    """One row per trial and epoch as an Arrow table (null = not measured, NaN = measured NaN).

    `schema` reads only those fields of each line (the report's bulk read: Arrow then skips
    the rest, twice as fast); without it, every field, as the history format has them."""
    return lines_table(ref.store.epoch_lines(ref.name, numbers), schema=schema)


def lines_table(groups: EpochLines, *, schema: pa.Schema | None = None) -> pa.Table:
    """`epoch_table` of epoch lines already read (the report reads them once for the table
    and the histories: one snapshot of a study the driver may be writing)."""
    import pyarrow as pa
    import pyarrow.json as pj

    if not groups:
        return pa.table({"number": pa.array([], pa.int64()), "epoch": pa.array([], pa.int64())})
    data = "\n".join(text for _, _, text in groups).encode()
    options = pj.ReadOptions(block_size=1 << 22)
    if schema is not None:
        parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    else:
        # Telling Arrow the types saves it a fifth of the parse: take them from each trial's
        # first and last line; a field seen only elsewhere is still found (inferred).
        sample = "\n".join(f"{t.partition(chr(10))[0]}\n{t.rpartition(chr(10))[2]}" for _, _, t in groups).encode()
        parse = pj.ParseOptions(explicit_schema=_widened(pj.read_json(io.BytesIO(sample)).schema))
    try:
        table = pj.read_json(io.BytesIO(data), read_options=options, parse_options=parse)
    except pa.ArrowInvalid:  # a line the sample's types do not fit: let Arrow infer them all
        table = pj.read_json(io.BytesIO(data), read_options=options)
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    if "kind" in table.column_names:
        table = table.drop_columns(["kind"])
    number = np.repeat(np.array([n for n, _, _ in groups], dtype=np.int64), [c for _, c, _ in groups])
    # From the buffer, not pa.array(ndarray): that call imports pandas (a quarter second),
    # which `trials --epochs` otherwise never needs.
    table = table.append_column("number", pa.Array.from_buffers(pa.int64(), len(number), [None, pa.py_buffer(number)]))
    return table.select(order_columns(table.column_names)).sort_by([("number", "ascending"), ("epoch", "ascending")])


def _widened(schema: pa.Schema) -> pa.Schema:
    """A sampled schema made safe for the other lines: every number a float except the
    counters, and a field that was null in the sample a float too."""
    import pyarrow as pa

    def widen(field: pa.Field) -> pa.Field:
        if pa.types.is_struct(field.type):
            return field.with_type(pa.struct([widen(f) for f in field.type]))
        if field.name in _INT_COLUMNS and pa.types.is_integer(field.type):
            return field
        if pa.types.is_integer(field.type) or pa.types.is_null(field.type):
            return field.with_type(pa.float64())
        return field

    return pa.schema([widen(f) for f in schema])


def epochs_frame(ref: StudyRef, numbers: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per trial and epoch, every metric flattened (`eval.32_l2`, `grad_norm.p95`, ...)."""
    return epoch_table(ref, numbers).to_pandas()


def order_columns(names: Sequence[str]) -> list[str]:
    """number, epoch, then the history format's field order; nested keys in a reader's order
    (eval by resolution then loss, grad_norm median/p95/max, groups lifting/fno_blocks/projection/blocks)."""

    def key(name: str) -> tuple[Any, ...]:
        head, _, rest = name.partition(".")
        pos = ["number", "epoch", *_FIELDS].index(head) if head in ("number", "epoch", *_FIELDS) else 10_000
        if head == "eval":
            res, _, loss = rest.partition("_")
            return (pos, int(res) if res.isdigit() else 1 << 30, _LOSS_ORDER.get(loss, 9), loss)
        if head == "grad_norm":
            return (pos, _GRAD_ORDER.get(rest, 9), rest)
        if head == "groups":
            group, _, stat = rest.rpartition(".")
            block = re.fullmatch(r"fno_blocks\.(\d+)", group)
            return (
                pos,
                _GROUP_ORDER.get(group, 5 if block else 9),
                int(block[1]) if block else 0,
                group,
                _STAT_ORDER.get(stat, 9),
                stat,
            )
        return (pos, name)

    return sorted(names, key=key)


def histories(lines: EpochLines, runs: Mapping[int, RunInfo | None]) -> dict[int, History]:
    """Histories per trial number from the store's epoch lines (`Store.epoch_lines`), read by
    the history format's one parser: its fast path for stored records, about a second at
    200 000 records."""
    return {n: History(run=runs.get(n) or RunInfo(), epochs=parse_stored(text)) for n, _, text in lines}
