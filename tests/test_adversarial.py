"""The adversarial round of issue 17 (RELIABILITY.md, "Attacks"): each test reproduces one
attack with real parts (SQLite or PostgreSQL, the real CLI in a subprocess, real Ray where
the attack is Ray's) and holds the fix."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from fnosweep.errors import FnosweepError, StoreError
from fnosweep.executor import InlineExecutor
from fnosweep.store import Store
from fnosweep.sweep.driver import INTERRUPTED, RECOVERIES, Driver, run_sweep
from fnosweep.sweep.start import load_or_create_study, recover_stale, resumed_seed
from fnosweep.testing import synthetic_trial
from sweep_builders import tiny_doc, tiny_spec


def cli(*args: str, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fnosweep.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def interrupted_once(spec) -> None:
    """Run the sweep, stop it as a first Ctrl-C would once trials run, then resume it to its end."""
    def stops_after_two_epochs(config):
        for i, item in enumerate(synthetic_trial(config)):
            yield item
            if i == 2:
                driver.stop_requested.set()

    driver = Driver(spec, executor=InlineExecutor(stops_after_two_epochs))
    assert driver.run().interrupted
    run_sweep(spec, executor=InlineExecutor(synthetic_trial))


# -- 1. interrupted attempts are not outcomes -------------------------------------------------


def test_interrupted_attempts_are_not_failures_in_the_conclusion_the_report_or_the_store(tmp_path):
    for n_trials in (2, 4):  # interrupted twice, resumed each time
        spec = tiny_spec(tmp_path, study__n_trials=n_trials, training__epochs=6)
        interrupted_once(spec)
    study = optuna.load_study(study_name="tiny", storage=spec.study.storage)
    stopped = [t.number for t in study.trials if t.user_attrs.get(INTERRUPTED)]
    assert stopped and all(study.trials[n].state == TrialState.FAIL for n in stopped)

    out = cli("diagnose", spec.study.storage, "--study", "tiny", "--format", "json")
    assert out.returncode == 0, out.stderr
    conclusion = json.loads(out.stdout)
    assert conclusion["states"] == {"COMPLETE": 4} and conclusion["n_trials"] == 4
    assert "failed" not in conclusion["verdicts"] and "unknown" not in conclusion["verdicts"]
    store = Store.open(spec.study.storage)
    assert sorted(r.number for r in store.trials("tiny")) == [t.number for t in study.trials if t.number not in stopped]
    assert not set(store.epochs("tiny")) & set(stopped) and not set(store.epoch_counts("tiny")) & set(stopped)
    shown = {r.number: r.state for r in store.trials("tiny", interrupted=True)}  # asked for: shown as such
    assert {shown[n] for n in stopped} == {"INTERRUPTED"}
    one = cli("diagnose", spec.study.storage, "--study", "tiny", "--trial", str(stopped[0]))
    assert one.returncode == 0 and "(INTERRUPTED)" in one.stdout, one.stderr


# -- 2. a resumed seeded sampler does not replay its sequence ---------------------------------


def params_after_two_resumes(tmp_path, sampler):
    for n_trials in (1, 2, 3):  # run, then resumed twice
        spec = tiny_spec(tmp_path, study__n_trials=n_trials, study__sampler=sampler, execution__max_concurrent=1)
        run_sweep(spec, executor=InlineExecutor(synthetic_trial))
    study = optuna.load_study(study_name="tiny", storage=spec.study.storage)
    return [t.params["training.lr"] for t in study.trials]


@pytest.mark.parametrize("sampler", [{"type": "random", "seed": 0}, {"type": "tpe", "seed": 0}])
def test_a_resumed_seeded_sampler_continues_and_stays_reproducible(tmp_path, sampler):
    lrs = params_after_two_resumes(tmp_path / "a", sampler)
    assert len(set(lrs)) == 3, lrs  # no startup configuration trained twice
    assert params_after_two_resumes(tmp_path / "b", sampler) == lrs  # the same runs give the same trials


def test_the_resumed_seed_is_the_seed_for_a_new_study_and_new_for_each_state():
    assert resumed_seed(0, 0) == 0 and resumed_seed(123, 0) == 123
    seeds = [resumed_seed(0, n) for n in range(1, 50)] + [resumed_seed(1, n) for n in range(1, 50)]
    assert len(set(seeds)) == len(seeds) and resumed_seed(0, 7) == resumed_seed(0, 7)
    assert all(0 <= s < 2**32 for s in seeds) and resumed_seed(2**40, 3) >= 0


# -- 9. a displaced driver checks its lock before handling what it buffered -------------------


def test_a_displaced_driver_writes_nothing_after_the_takeover(tmp_path, monkeypatch):
    monkeypatch.setattr("fnosweep.sweep.driver.HEARTBEAT_S", 0.2)
    spec = tiny_spec(tmp_path, study__n_trials=4, training__epochs=50)
    at_takeover: dict = {}

    def stalls_while_another_driver_takes_over(progress):  # runs in the driver's loop: the driver stalls here
        if at_takeover or not progress.running:
            return
        other = Store.open(spec.study.storage)
        with monkeypatch.context() as m:
            m.setattr(os, "getpid", lambda: 4242)
            assert other.acquire_driver("tiny", stale_after_s=0) is None
        study, storage = load_or_create_study(spec)
        recover_stale(spec, other, study, storage)  # what the new driver does first: fail and re-queue what runs
        at_takeover.update(trials=len(study.trials), epochs=other.epoch_counts("tiny"))
        at_takeover["rows"] = {r.number: r.state for r in other.trials("tiny", interrupted=True)}
        time.sleep(0.4)  # the stall: epochs pile up in the executor, the heartbeat comes due

    with pytest.raises(StoreError, match=r"lost the lock of study 'tiny' \(now held by host .+, pid 4242, since "):
        run_sweep(spec, executor=InlineExecutor(synthetic_trial), listener=stalls_while_another_driver_takes_over)
    store = Store.open(spec.study.storage)
    assert len(optuna.load_study(study_name="tiny", storage=spec.study.storage).trials) == at_takeover["trials"]
    assert store.epoch_counts("tiny") == at_takeover["epochs"]  # no epoch of a trial the new driver failed
    assert {r.number: r.state for r in store.trials("tiny", interrupted=True)} == at_takeover["rows"]
    assert store.driver_lock("tiny").pid == 4242


# -- 10. a full disk at the driver's start ----------------------------------------------------


@contextlib.contextmanager
def file_size_limit(limit: int):
    """Writes past `limit` bytes of any file fail (EFBIG) in this process, as on a full disk."""
    old_limit, old_handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_a_full_disk_at_the_start_is_one_line_wherever_the_write_fails(tmp_path):
    spec = tiny_spec(tmp_path, study__n_trials=1)
    run_sweep(spec, executor=InlineExecutor(synthetic_trial))
    db = spec.study.storage.removeprefix("sqlite:///")
    frame = 24 + 4096  # a WAL frame: header and one page
    outcomes = []
    for frames in range(8):  # the disk fills after 0, 1, 2 ... pages written: every write of the start fails once
        with sqlite3.connect(db) as conn:  # an empty WAL: the next writes grow it from nothing
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with file_size_limit(32 + frames * frame):
            try:
                run_sweep(spec, executor=InlineExecutor(synthetic_trial))
                outcomes.append("ran")
            except FnosweepError as e:
                assert len(str(e).splitlines()) == 1 and "disk I/O error" in str(e), str(e)
                outcomes.append("one line")
    assert outcomes[0] == "one line" and "ran" in outcomes, outcomes


# -- 14. drivers started at the same instant on a fresh database ------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_storage(request, tmp_path):
    """A URL to a database nobody has written yet (a new one per call)."""
    count = iter(range(1000))
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path}/fresh{next(count)}.db"
    server = request.getfixturevalue("postgres_server")
    return lambda: server.new_database(f"fresh_{os.getpid()}_{time.monotonic_ns()}")


def at_once(calls):
    """Run the calls in threads released together; each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            out[i] = call()
        except Exception as e:
            out[i] = e

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_stores_and_studies_opened_at_the_same_instant_on_a_fresh_database_all_open(tmp_path, fresh_storage):
    for _ in range(3):
        url = fresh_storage()
        opened = at_once([lambda url=url: Store.open(url)] * 4)
        assert all(isinstance(s, Store) for s in opened), opened
        specs = [tiny_spec(tmp_path, f"s{i}", study__storage=url) for i in range(4)]  # four studies, one database
        studies = at_once([lambda spec=spec: load_or_create_study(spec)[0] for spec in specs])
        assert all(isinstance(s, optuna.Study) for s in studies), studies


DRIVER_AT = """
import json, sys, time
from fnosweep.sweep.driver import Driver
from fnosweep.errors import FnosweepError
from fnosweep.spec import parse_spec
spec = parse_spec(json.loads(sys.argv[1]), source="s.yaml")
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
try:
    Driver(spec)._open()
    print("took the study", flush=True)
    time.sleep(5)  # holds the lock while the other one tries
except FnosweepError as e:
    print(e, flush=True)
"""


def test_the_second_of_two_drivers_started_at_once_on_a_fresh_database_is_told_who_has_it(tmp_path, fresh_storage):
    doc = tiny_doc(tmp_path, study__storage=fresh_storage())
    start_at = str(time.time() + 4)  # both interpreters are up by then
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER_AT, json.dumps(doc), start_at], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 and not err.strip() for p, (_, err) in zip(procs, outs, strict=True)), outs
    lines = sorted(out.strip() for out, _ in outs)
    assert lines[0].startswith("study 'tiny' is being run by another driver (host ") and lines[1] == "took the study"


# -- the real `fnosweep run`: 4. data root, 15. Ray address, 20. the "Next:" hint, 5. SIGTERM ---


def write_spec(tmp_path, **dotted) -> str:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_doc(tmp_path, **dotted)))
    return str(path)


def one_line_refusal(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    return out.stderr.strip()


def test_an_unwritable_data_root_is_refused_before_the_study_is_written(tmp_path):
    (tmp_path / "a_file").write_text("")
    spec = write_spec(tmp_path, study__n_trials=2, data__root=str(tmp_path / "a_file" / "data"))
    line = one_line_refusal(cli("run", spec, cwd=tmp_path))
    file, root = tmp_path / "a_file", tmp_path / "a_file" / "data"
    assert line == f"fnosweep: {spec}: data -> root: {file} is a file, but {root} must be a directory"
    assert not (tmp_path / "studies").exists()  # no study: no budget spent, nothing to resume


def test_an_unreachable_ray_address_is_one_line_before_the_study_is_written(tmp_path):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = write_spec(tmp_path, execution__backend="ray", execution__address=f"127.0.0.1:{port}")
    started = time.monotonic()
    line = one_line_refusal(cli("run", spec, cwd=tmp_path, timeout=60))
    assert line == f"fnosweep: cannot reach Ray at 127.0.0.1:{port} (execution.address): Connection refused"
    assert time.monotonic() - started < 60 and not (tmp_path / "studies").exists()


def test_the_next_hint_after_a_run_with_another_storage_is_a_command_that_works(tmp_path):
    spec = write_spec(tmp_path, study__n_trials=1)
    other = f"sqlite:///{tmp_path}/elsewhere.db"
    out = cli("run", spec, "--set", f"study.storage={other}", "--set", "study.name=moved", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (hint,) = [line for line in out.stdout.splitlines() if line.startswith("Next: fnosweep diagnose ")]
    command = shlex.split(hint.removeprefix("Next: fnosweep ").split("   (")[0])
    assert command == ["diagnose", other, "--study", "moved"]
    assert cli(*command, cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("backend", ["inline", pytest.param("ray", marks=pytest.mark.slow)])
def test_sigterm_stops_the_run_like_ctrl_c(tmp_path, request, backend):
    on = {"execution__backend": "inline"}
    if backend == "ray":  # ray.init makes SIGTERM exit at once; the CLI joins the tests' Ray (no second cluster)
        on = {"execution__backend": "ray", "execution__address": request.getfixturevalue("ray_local")
              .get_runtime_context().gcs_address}  # fmt: skip
    spec = write_spec(tmp_path, study__n_trials=2, training__epochs=30, **on)
    proc = subprocess.Popen([sys.executable, "-m", "fnosweep.cli", "run", spec], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    db, deadline = tmp_path / "studies" / "tiny.db", time.monotonic() + 240
    while not db.exists() or not Store.open(f"sqlite:///{db}").epoch_counts("tiny"):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Interrupted: run the same command to resume." in out, err
    assert "Traceback" not in err and "*** SIG" not in err and "ray::" not in err, err
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{db}")
    assert TrialState.RUNNING not in [t.state for t in study.trials]
    assert any(t.user_attrs.get(INTERRUPTED) for t in study.trials)  # re-queued: the same command resumes


# -- 5. a database outage does not spend a re-queue ---------------------------------------------


def test_trials_running_when_the_database_was_lost_are_requeued_without_counting(tmp_path):
    spec = tiny_spec(tmp_path, study__n_trials=2, training__epochs=50)
    wal = Path(spec.study.storage.removeprefix("sqlite:///") + "-wal")
    running: list[int] = []
    old_limit, old_handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def database_fails(progress):  # the database's disk fills while trials run (the outage SQLite can have)
        if progress.running and not running:
            running.extend(number for number, _, _ in progress.running)
            resource.setrlimit(resource.RLIMIT_FSIZE, (wal.stat().st_size, old_limit[1]))

    try:
        with pytest.raises(StoreError, match=r"lost the study database, so the sweep stopped: .*disk I/O error"):
            run_sweep(spec, executor=InlineExecutor(synthetic_trial), listener=database_fails)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    result = run_sweep(spec, executor=InlineExecutor(synthetic_trial))  # the database is back
    assert len(result.trials) == 2
    trials = optuna.load_study(study_name="tiny", storage=spec.study.storage).trials
    for number in running:
        attrs = trials[number].user_attrs
        assert attrs[INTERRUPTED] and "lost the study database" in attrs["reason"]
    assert all(RECOVERIES not in t.user_attrs for t in trials)  # no re-queue spent: none was the trials' fault
