import math
from pathlib import Path

import pytest

from fnosweep.errors import HistoryError
from fnosweep.history import (
    EpochRecord,
    History,
    RunInfo,
    append_line,
    dumps,
    parse_lines,
    parse_stored,
    read_history,
    write_history,
)

SEEDS = Path(__file__).resolve().parents[1] / "examples" / "histories"


def test_round_trip_keeps_nan_and_infinity(tmp_path):
    h = History(
        run=RunInfo(n_params=100, n_train=10, lr=1e-3, extra={"note": "x"}),
        epochs=(EpochRecord(epoch=0, train_loss=math.nan, eval={"32_l2": math.inf}, grad_norm={"max": 2.0}),),
    )
    path = tmp_path / "h.jsonl"
    write_history(path, h)
    text = path.read_text()
    assert "NaN" in text and "Infinity" in text
    back = read_history(path)
    assert math.isnan(back.epochs[0].train_loss)
    assert back.epochs[0].eval["32_l2"] == math.inf
    assert back.run.extra == {"note": "x"} and back.run.params_per_sample == 10


def test_unknown_keys_are_ignored():
    h = parse_lines(['{"kind": "run", "future": 1}', '{"kind": "epoch", "epoch": 0, "new_metric": 3}'])
    assert h.epochs[0].epoch == 0


def test_stored_lines_read_trusted_equal_the_checked_read():
    # The store's lines (dumps of checked records, any order) through the fast path: the same
    # records as the checked parser gives, in epoch order, unknown keys ignored there too.
    records = [
        EpochRecord(epoch=1, train_loss=math.inf, eval={"32_l2": 0.5, "32_h1": None}, steps=3, peak_mem_bytes=7),
        EpochRecord(epoch=0, train_loss=1.0, grad_norm={"max": 2.0}, groups={"lifting": {"mean": 0.1, "max": 0.2}}),
    ]
    lines = [dumps({**r.to_dict(), "future": 1}) for r in records]
    checked = parse_lines(['{"kind": "run"}', *reversed(lines)]).epochs
    assert parse_stored("\n".join(lines)) == checked == tuple(sorted(records, key=lambda r: r.epoch))


def test_append_line_writes_whole_lines(tmp_path):
    path = tmp_path / "h.jsonl"
    append_line(path, RunInfo(n_train=5).to_dict())
    append_line(path, EpochRecord(epoch=0, train_loss=1.0).to_dict())
    assert read_history(path).epochs[0].train_loss == 1.0


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "the history is empty"),
        (['{"kind": "epoch", "epoch": 0}'], "line 1: an epoch before the 'run' line"),
        (['{"kind": "run"}', '{"kind": "epoch", "epoch": 0'], "line 2: not valid JSON"),
        (['{"kind": "run"}', "[1, 2]"], "line 2: expected a JSON object, but got list"),
        (
            ['{"kind": "run"}', '{"kind": "epoch", "epoch": 0, "train_loss": "low"}'],
            "line 2: 'train_loss' must be a number or null, but got 'low'",
        ),
        (
            ['{"kind": "run"}', '{"kind": "epoch", "epoch": 1}', '{"kind": "epoch", "epoch": 0}'],
            "line 3: epoch 0 is out of order",
        ),
        (
            ['{"kind": "run"}', '{"kind": "epoch", "epoch": 1}', '{"kind": "epoch", "epoch": 1}'],
            "line 3: epoch 1 is repeated",
        ),
        (['{"kind": "run"}', '{"kind": "epoch"}'], "line 2: an epoch line needs 'epoch'"),
        (['{"kind": "run"}', '{"kind": "epoch", "epoch": true}'], "line 2: 'epoch' must be a whole number"),
        (['{"kind": "run"}', '{"kind": "epoch", "epoch": 0, "eval": [1]}'], "line 2: 'eval' must be an object"),
        (['{"kind": "run", "n_params": "many"}'], "line 1: 'n_params' must be a whole number"),
        (['{"kind": "walk"}'], "line 1: 'kind' must be 'run' or 'epoch'"),
    ],
)
def test_bad_history_names_the_line(lines, message):
    with pytest.raises(HistoryError, match=None) as err:
        parse_lines(lines, source="h.jsonl")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_binary_and_missing_files(tmp_path):
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b'{"kind": "run"}\n\xff\xfe\x00garbage')
    with pytest.raises(HistoryError, match="line 2: not UTF-8"):
        read_history(binary)
    with pytest.raises(HistoryError, match="no such file"):
        read_history(tmp_path / "missing.jsonl")
    with pytest.raises(HistoryError, match="is a directory"):
        read_history(tmp_path)


@pytest.mark.parametrize("name", ["seed000_unstable.jsonl", "seed001_progressing.jsonl"])
def test_seed_histories_read(name):
    h = read_history(SEEDS / name)
    assert len(h.epochs) in (3, 12)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(["kind", "epoch", "train_loss", "eval", "grad_norm", "groups", "n_params", "steps", "lr"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(FIELDS, JSON, max_size=5) | st.text(max_size=30), max_size=5))
def test_any_input_gives_a_history_or_one_history_error(lines):
    import json

    raw = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    try:
        parse_lines(raw)
    except HistoryError as e:
        assert "\n" not in str(e)
