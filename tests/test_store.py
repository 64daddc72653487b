import math
import os
import sqlite3

import pytest

from fnosweep.errors import StoreError
from fnosweep.history import EpochRecord, RunInfo
from fnosweep.store import Store, redact


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path}/db/s.db")
    s.put_study("s", fingerprint="abc", space={"params": {}}, spec={"study": {"name": "s"}})
    yield s
    s.close()


def test_epochs_are_idempotent_and_keep_nan(store):
    store.start_trial("s", 0, params={"training.lr": 0.01})
    store.put_epoch("s", 0, EpochRecord(epoch=0, train_loss=1.0))
    store.put_epoch("s", 0, EpochRecord(epoch=1, train_loss=math.nan, eval={"8_l2": math.inf}))
    store.put_epoch("s", 0, EpochRecord(epoch=1, train_loss=math.nan, eval={"8_l2": math.inf}))  # replayed
    records = store.epochs("s")[0]
    assert [r.epoch for r in records] == [0, 1]
    assert math.isnan(records[1].train_loss) and records[1].eval["8_l2"] == math.inf
    assert store.epoch_count("s") == 2


def test_trial_rows_are_values(store):
    store.start_trial("s", 3, params={"training.lr": 0.01})
    store.put_run_info("s", 3, RunInfo(n_params=10, n_train=5))
    store.finish_trial(
        "s", 3, state="PRUNED", value=0.5, verdict="diverged", diagnosis={"verdict": "diverged"}, reason="nan"
    )
    (row,) = store.trials("s")
    assert (row.number, row.state, row.verdict, row.reason) == (3, "PRUNED", "diverged", "nan")
    assert row.params == {"training.lr": 0.01} and row.run_info.params_per_sample == 2.0
    assert row.finished_at.tzinfo is not None


def test_a_new_attempt_drops_the_last_attempts_epochs(store):
    store.start_trial("s", 0, params={})
    store.put_epoch("s", 0, EpochRecord(epoch=0, train_loss=1.0))
    store.start_trial("s", 0, params={}, attempt=1)
    assert store.epochs("s") == {}
    assert store.trials("s")[0].attempt == 1


def test_sqlite_runs_in_wal_mode(store, tmp_path):
    with sqlite3.connect(tmp_path / "db" / "s.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_driver_lock_refuses_a_live_driver_and_takes_a_stale_one(store, monkeypatch):
    assert store.acquire_driver("s", stale_after_s=60) is None
    monkeypatch.setattr("os.getpid", lambda: 999_999)  # another process
    holder = store.acquire_driver("s", stale_after_s=60)
    assert holder is not None and holder.pid != 999_999
    assert store.acquire_driver("s", stale_after_s=0) is None  # the first driver's heartbeat is stale now


def test_a_new_study_is_recorded_with_its_lock_and_only_by_the_holder(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path}/n.db")
    with pytest.raises(StoreError, match="has no fnosweep record; cannot lock it"):
        s.acquire_driver("new", stale_after_s=60)
    record = {"fingerprint": "f1", "space": {"params": {"a": 1}}, "spec": {"study": {"name": "new"}}}
    assert s.acquire_driver("new", stale_after_s=60, record=record) is None
    assert s.study_meta("new") == ("f1", {"params": {"a": 1}}) and s.study_spec("new") == {"study": {"name": "new"}}
    assert s.driver_lock("new").pid == os.getpid()
    s.close()


def test_heartbeat_says_when_the_lock_was_taken_over(store, monkeypatch):
    assert store.acquire_driver("s", stale_after_s=60) is None
    assert store.heartbeat("s") is True
    with monkeypatch.context() as m:  # another driver takes the lock, ours looking stale
        m.setattr(os, "getpid", lambda: 999_999)
        assert store.acquire_driver("s", stale_after_s=0) is None
    assert store.heartbeat("s") is False
    store.release_driver("s")  # not ours: left alone
    assert store.driver_lock("s").pid == 999_999
    with monkeypatch.context() as m:
        m.setattr("socket.gethostname", lambda: "elsewhere")  # the same pid on another host is not us
        assert store.heartbeat("s") is False
    assert store.driver_lock("s").host != "elsewhere"


def test_bad_urls_are_one_line_errors(tmp_path):
    with pytest.raises(StoreError, match="is not a database URL"):
        Store.open("not a url")
    with pytest.raises(StoreError, match="no such database file"):
        Store.open(f"sqlite:///{tmp_path}/missing.db", create=False)
    with pytest.raises(StoreError, match="cannot open storage postgresql"):
        Store.open("postgresql+psycopg://u:secret@127.0.0.1:1/db")


def test_redact_hides_passwords():
    assert "secret" not in redact("postgresql+psycopg://u:secret@h/db")


@pytest.mark.parametrize(
    ("state", "reason", "read_as"),
    [
        ("INTERRUPTED", "interrupted by the user after epoch 2; parameters re-queued", "INTERRUPTED"),
        ("FAIL", "interrupted by the user after epoch 2; parameters re-queued", "INTERRUPTED"),  # before the state
        ("FAIL", "interrupted: its driver stopped before it finished; parameters re-queued (1 of at most 2)",
         "INTERRUPTED"),  # fmt: skip
        ("FAIL", "interrupted: its driver stopped before it finished, 3 times; not re-queued again", "FAIL"),
        ("FAIL", "ValueError: boom", "FAIL"),
        ("COMPLETE", None, "COMPLETE"),
    ],
)
def test_interrupted_attempts_are_left_out_of_reads_unless_asked_for(store, state, reason, read_as):
    for number in (0, 1):
        store.start_trial("s", number, params={})
        store.put_epoch("s", number, EpochRecord(epoch=0, train_loss=1.0))
    store.finish_trial("s", 0, state=state, reason=reason)
    store.finish_trial("s", 1, state="COMPLETE")
    shown = read_as != "INTERRUPTED"
    assert [r.number for r in store.trials("s")] == ([0, 1] if shown else [1])
    assert {r.number: r.state for r in store.trials("s", interrupted=True)} == {0: read_as, 1: "COMPLETE"}
    assert (0 in store.epochs("s"), 0 in store.epoch_counts("s")) == (shown, shown)
    assert [n for n, _, _ in store.epoch_lines("s")] == ([0, 1] if shown else [1])
    assert 0 in store.epochs("s", [0])  # asked for by number: there
