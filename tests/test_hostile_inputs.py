"""Hostile inputs to the real `fnosweep` command (issue 17, items 6-8, 11-13, 16-19, 21).

Each bad input must give exit code 1, exactly one line on stderr, no traceback, nothing
written, and never a password. RELIABILITY.md lists each attack beside its test here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sweep_builders import tiny_doc

FNOSWEEP = [sys.executable, "-m", "fnosweep.cli"]
SECRET = "hunter2"


def fnosweep(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*FNOSWEEP, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def refused(out: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The house rule for bad input: exit 1, one line on stderr, no traceback; returns the line."""
    assert out.returncode == 1, (out.returncode, out.stdout[-2000:], out.stderr[-2000:])
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr[-3000:]
    for text in expected:
        assert text in out.stderr, out.stderr
    return out.stderr


def write_spec(tmp_path: Path, **dotted) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_doc(tmp_path, **dotted), sort_keys=False))
    return path


# -- secrets (items 6, 8, 13) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+psycopg://u@h:1/db?password={SECRET}", "postgresql+psycopg://u@h:1/db?password=***"),
        (f"postgresql+psycopg://u@h/db?sslmode=require&sslpassword={SECRET}&application_name=a",
         "postgresql+psycopg://u@h/db?sslmode=require&sslpassword=***&application_name=a"),
        (f"postgresql+psycopg://u:{SECRET}@h/db", "postgresql+psycopg://u:***@h/db"),
        (f"postgresql+psycopg://:{SECRET}@h/db", "postgresql+psycopg://:***@h/db"),
        (f"postgresql+psycopg://u:p@{SECRET}@h/db", "postgresql+psycopg://u:***@h/db"),  # @ in the password
        (f"postgresql+psycopg://u:{SECRET}/x:y@h/db", "postgresql+psycopg://u:***@h/db"),
        (f"postgresql:/u:{SECRET}@h:1/db", "postgresql:/u:***@h:1/db"),  # a mistyped //
        (f"postgresql+psycopg://u:{SECRET}@h:abc/db", "postgresql+psycopg://u:***@h:abc/db"),  # bad port
        (f"postgresql+psycopg://u:{SECRET}@[h:1/db", "postgresql+psycopg://u:***@[h:1/db"),  # unclosed [
        (f"u:{SECRET}@h/db", "u:***@h/db"),  # no scheme at all
        (f"got 'postgresql://u:{SECRET}@h/db', expected", "got 'postgresql://u:***@h/db', expected"),
        ("sqlite:///studies/x.db", "sqlite:///studies/x.db"),
        ("postgresql+psycopg://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("${FNOSWEEP_STORAGE}", "${FNOSWEEP_STORAGE}"),
    ],
)
def test_redact_masks_every_credential_form_and_never_raises(url, shown):
    from fnosweep.store import redact

    assert redact(url) == shown


def test_no_command_prints_a_password(tmp_path):
    """validate prints the storage; run, report, trials, diagnose and dashboard cannot reach it."""
    url = f"postgresql+psycopg://u@127.0.0.1:1/db?password={SECRET}"
    spec = write_spec(tmp_path, study__storage=url)
    out = fnosweep("validate", str(spec), cwd=tmp_path)
    assert out.returncode == 0 and "storage   postgresql+psycopg://u" in out.stdout, out.stderr
    assert SECRET not in out.stdout + out.stderr
    for args in (["run", str(spec)], ["report", url], ["diagnose", url], ["dashboard", url]):
        out = fnosweep(*args, cwd=tmp_path)
        line = refused(out, "cannot open storage postgresql+psycopg://u")
        assert SECRET not in out.stdout + line, (args, line)
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (f"postgresql:/u:{SECRET}@h:1/db", "must be a database URL"),
        (f"postgresql+psycopg://u:{SECRET}@h:abc/db", "(port must be a number)"),
    ],
)
def test_a_malformed_storage_url_is_one_line_without_its_password(tmp_path, url, why):
    spec = write_spec(tmp_path, study__storage=url)
    line = refused(fnosweep("validate", str(spec), cwd=tmp_path), "sweep.yaml:", "study -> storage", why)
    assert SECRET not in line and "u:***@h" in line
    line = refused(fnosweep("report", url, cwd=tmp_path))  # the URL itself as STUDY
    assert SECRET not in line
    assert os.listdir(tmp_path) == ["sweep.yaml"]


def _study_with_stored_storage(tmp_path: Path, storage: str) -> str:
    """A finished synthetic study whose stored spec names `storage` (as if run with it)."""
    from fnosweep.store import Store
    from fnosweep.testing.synthetic_sweep import build_sweep, synthetic_spec

    url = f"sqlite:///{tmp_path}/s.db"
    build_sweep(url, "s", n_trials=12, epochs=4, seed=1)
    store = Store.open(url)
    meta = store.study_meta("s")
    assert meta is not None
    store.put_study("s", fingerprint=meta[0], space=meta[1], spec=synthetic_spec("s", storage, n_trials=12, epochs=4))
    store.close()
    return url


def test_suggest_writes_no_password_into_the_followup_spec(tmp_path):
    url = _study_with_stored_storage(tmp_path, f"postgresql+psycopg://u:{SECRET}@db/sweeps")
    out = fnosweep("diagnose", url, "--suggest", str(tmp_path / "next.yaml"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "next.yaml").read_text()
    assert SECRET not in text + out.stdout + out.stderr
    assert yaml.safe_load(text)["study"]["storage"] == "${FNOSWEEP_STORAGE}"
    assert "set FNOSWEEP_STORAGE to that URL" in out.stderr and "u:***@db/sweeps" in out.stderr


def test_suggest_keeps_the_studys_own_environment_reference(tmp_path):
    url = _study_with_stored_storage(tmp_path, "${SWEEP_DB}")
    out = fnosweep("diagnose", url, "--suggest", str(tmp_path / "next.yaml"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load((tmp_path / "next.yaml").read_text())["study"]["storage"] == "${SWEEP_DB}"
    assert "FNOSWEEP_STORAGE" not in out.stderr


def _read_only_mount(directory: Path, command: list[str]) -> list[str]:
    """`command` run with `directory` bound read-only over itself (a user and mount namespace:
    writes there fail with EROFS even for root, as on a read-only mount)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("needs unshare -rm (user and mount namespaces) for a real read-only mount")
    quoted = " ".join(f"'{a}'" for a in command)
    mount = f"mount --bind '{directory}' '{directory}' && mount -o remount,bind,ro '{directory}' '{directory}'"
    script = f"{mount} && exec {quoted}"
    return ["unshare", "-rm", "sh", "-c", script]


def test_suggest_into_a_read_only_directory_is_one_line(tmp_path):
    url = _study_with_stored_storage(tmp_path, f"sqlite:///{tmp_path}/s.db")
    ro = tmp_path / "ro"
    ro.mkdir()
    args = _read_only_mount(ro, [*FNOSWEEP, "diagnose", url, "--suggest", str(ro / "f.yaml")])
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    refused(out, f"--suggest: cannot write {ro / 'f.yaml'}: Read-only file system")
    assert list(ro.iterdir()) == []


# -- YAML bounds (item 11) ----------------------------------------------------------------------


def _bomb(levels: int = 9) -> str:
    """Billion laughs in flow YAML: 9 levels of 9 aliases expand to 9**9 values."""
    parts = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        parts.append(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("study: &m {<<: *m}\n", "`<<` merges a mapping into itself"),
        ("study: &m\n  name: x\n  <<: *m\n", "`<<` merges a mapping into itself"),
        ("a: " + "[" * 50_000 + "]" * 50_000 + "\n", "sweep.yaml:1: nesting deeper than 50 levels"),
        ("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)), "nesting deeper than 50 levels"),
        ("study: {name: x, n_trials: 2}\nx: " + _bomb() + "\n", "aliases expand to more than 100000 values"),
        ("study: {name: x, n_trials: 2}\nx: [" + "1, " * 300_000 + "1]\n", "more than 20000 values"),
    ],
    ids=["merge-self", "merge-self-block", "deep-flow", "deep-block", "alias-bomb", "many-nodes"],
)
def test_hostile_yaml_is_one_line_and_quick(tmp_path, text, expected):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(text)
    start = time.perf_counter()
    refused(fnosweep("validate", str(spec), cwd=tmp_path, timeout=60), expected)
    assert time.perf_counter() - start < 30


def test_a_10_mb_spec_is_refused_before_yaml_reads_it(tmp_path):
    spec = tmp_path / "sweep.yaml"
    spec.write_text("study: {name: x, n_trials: 2}\nx: [" + "1," * 5_000_000 + "1]\n")
    start = time.perf_counter()
    refused(fnosweep("validate", str(spec), cwd=tmp_path, timeout=60),
            "sweep.yaml: is 10.0 MB; a spec file is at most 1.0 MB")
    assert time.perf_counter() - start < 30


def test_a_device_as_spec_is_refused(tmp_path):
    refused(fnosweep("validate", "/dev/zero", timeout=60), "/dev/zero: is not a regular file")


def test_an_alias_bomb_through_set_is_refused_quickly(tmp_path):
    spec = write_spec(tmp_path)
    start = time.perf_counter()
    out = fnosweep("validate", str(spec), "--set", f"model.decomposition_kwargs={{x: {_bomb()}}}",
                   cwd=tmp_path, timeout=60)
    line = refused(out, "--set model.decomposition_kwargs=", "aliases expand to more than 100000 values")
    assert len(line) < 400 and time.perf_counter() - start < 30


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[" * 60, "nesting deeper than 50 levels"),
        ("x" * 20_000, "the value is 20000 characters; a --set value is at most 10000"),
    ],
)
def test_oversized_set_values_are_refused(tmp_path, value, expected):
    spec = write_spec(tmp_path)
    line = refused(fnosweep("validate", str(spec), "--set", f"model.n_modes={value}", cwd=tmp_path), expected)
    assert len(line) < 400


# -- history files (item 12) --------------------------------------------------------------------

RUN_LINE = '{"kind": "run", "n_train": 10}\n'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (RUN_LINE + "[" * 200_000 + "\n", "h.jsonl, line 2: nests arrays or objects more than 16 levels deep"),
        ('{"kind": "run", "n_train": ' + "7" * 5_000 + "}\n",
         "h.jsonl, line 1: not valid JSON (Exceeds the limit (4300 digits) for integer string conversion"),
        (RUN_LINE + '{"kind": "epoch", "note": "' + "x" * 2_000_000 + '"}\n',
         "h.jsonl, line 2: is 2000029 characters long; a history line is at most 1000000"),
    ],
    ids=["deep", "long-integer", "long-line"],
)
def test_a_hostile_history_line_is_one_line_naming_file_and_line(tmp_path, content, expected):
    history = tmp_path / "h.jsonl"
    history.write_text(content)
    line = refused(fnosweep("diagnose", "--history", str(history), cwd=tmp_path), expected)
    assert "set_int_max_str_digits" not in line and len(line) < 400


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/dev/zero", "/dev/zero: is not a regular file"),  # read whole, it never ends
        ("/proc/self/mem", "/proc/self/mem: cannot be read: Input/output error"),
    ],
)
def test_a_history_that_is_no_file_is_refused(tmp_path, path, expected):
    refused(fnosweep("diagnose", "--history", path, cwd=tmp_path, timeout=60), expected)
    assert os.listdir(tmp_path) == []


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    refused(fnosweep("diagnose", "--history", str(fifo), cwd=tmp_path, timeout=60), "p: is not a regular file")
    refused(fnosweep("validate", str(fifo), cwd=tmp_path, timeout=60), "p: is not a regular file")


# -- bounded strings (item 18) ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["study.name", "data.name"])
def test_a_name_longer_than_its_files_and_columns_allow_is_refused(tmp_path, key):
    spec = write_spec(tmp_path)
    line = refused(fnosweep("validate", str(spec), "--set", f"{key}={'x' * 600}", cwd=tmp_path),
                   f"{key.replace('.', ' -> ')}: must be at most 100 characters", "this one has 600")
    assert len(line) < 400


def test_the_longest_name_runs(tmp_path):
    from fnosweep.space import load_spec
    from fnosweep.store import Store

    spec = load_spec(write_spec(tmp_path), [f"study.name={'x' * 100}"])
    store = Store.open(spec.study.storage)  # the default file name, studies/<name>.db, fits
    store.put_study(spec.study.name, fingerprint="f", space={}, spec={})
    assert store.study_names() == [spec.study.name]
    store.close()


# -- read-only studies (item 16) ----------------------------------------------------------------


@pytest.mark.parametrize("wal", [False, True], ids=["closed-cleanly", "with-wal"])
def test_an_intact_study_on_a_read_only_mount_is_read(tmp_path, wal):
    """A real read-only bind mount: SQLite cannot create its -shm file there, so the store opens
    the file with mode=ro (immutable=1 when no -wal file waits to be read)."""
    import sqlite3

    from fnosweep.testing.synthetic_sweep import build_sweep

    ro = tmp_path / "ro"
    ro.mkdir()
    url = f"sqlite:///{ro}/s.db"
    build_sweep(f"sqlite:///{tmp_path}/built.db", "s", n_trials=6, epochs=3, seed=2)
    with sqlite3.connect(tmp_path / "built.db") as built, sqlite3.connect(ro / "s.db") as copy:
        built.backup(copy)  # a WAL-mode study closed cleanly: no -wal or -shm file beside it
    copy.close()
    assert sorted(os.listdir(ro)) == ["s.db"]
    if wal:  # a driver killed after its last commit: the newest rows are in s.db-wal only
        script = ("import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); "
                  "c.execute('PRAGMA wal_autocheckpoint=0'); "
                  "c.execute(\"UPDATE fnosweep_trials SET reason = 'only in the wal' WHERE number = 0\"); "
                  "c.commit(); os._exit(0)")
        subprocess.run([sys.executable, "-c", script, str(ro / "s.db")], check=True)
        assert (ro / "s.db-wal").exists()
    before = {p.name: p.read_bytes() for p in ro.iterdir()}
    commands = [["trials", url]] if wal else [["trials", url], ["diagnose", url], ["report", url, "--out",
                                                                                   str(tmp_path / "r.html")]]
    for command in commands:
        out = subprocess.run(_read_only_mount(ro, [*FNOSWEEP, *command]), capture_output=True, text=True,
                             timeout=300, cwd=tmp_path)
        assert out.returncode == 0, (command, out.stderr)
        assert "Traceback" not in out.stderr
        if command[0] == "trials":
            assert out.stdout.count("\n") == 7 and ("only in the wal" in out.stdout) == wal
    assert {p.name: p.read_bytes() for p in ro.iterdir()} == before
    if not wal:
        assert (tmp_path / "r.html").stat().st_size > 0
    with sqlite3.connect(ro / "s.db") as check:  # and the database is still whole
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- damaged databases (items 17, 21) -----------------------------------------------------------


def _damage(db: Path, table: str) -> None:
    """Overwrite the root page of `table` with garbage, as a bad disk block would."""
    import sqlite3

    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file, none newer in the -wal
        page_size = c.execute("PRAGMA page_size").fetchone()[0]
        root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    c.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xde\xad\xbe\xef" * (page_size // 4))


def test_a_damaged_page_is_reported_as_damage(tmp_path):
    from fnosweep.testing.synthetic_sweep import build_sweep

    url = f"sqlite:///{tmp_path}/s.db"
    build_sweep(url, "s", n_trials=6, epochs=3, seed=4)
    _damage(tmp_path / "s.db", "fnosweep_epochs")
    for command in ("diagnose", "trials"):
        line = refused(fnosweep(command, url, "--epochs" if command == "trials" else "--format=json", cwd=tmp_path),
                       f"storage {url} is damaged (database disk image is malformed): restore it from a backup")
        assert "run the same command" not in line


@pytest.mark.slow
def test_a_page_damaged_mid_sweep_stops_with_damage_on_a_line_of_its_own(tmp_path):
    """The driver's "lost the study database ... when it is back, run the same command" is for
    an outage; a damaged file will not come back. Without a terminal, rich's live panel does
    not end its last line: the error must still start a line of its own."""
    from fnosweep.executor import InlineExecutor
    from fnosweep.space import load_spec
    from fnosweep.sweep.driver import run_sweep
    from fnosweep.testing import synthetic_trial

    spec = write_spec(tmp_path, study__n_trials=1)
    run_sweep(load_spec(spec), executor=InlineExecutor(synthetic_trial))
    _damage(tmp_path / "studies" / "tiny.db", "fnosweep_epochs")
    out = subprocess.run([*FNOSWEEP, "run", str(spec), "--set", "study.n_trials=2"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=tmp_path, timeout=600)
    assert out.returncode == 1, out.stdout
    last = out.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("fnosweep: storage sqlite:///") and "is damaged (database disk image is malformed)" in last
    assert "lost the study database" not in out.stdout and "Traceback" not in out.stdout


def test_an_empty_database_file_is_not_taken_for_a_new_study(tmp_path):
    spec = write_spec(tmp_path)
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "tiny.db").touch()
    for command in ("run", "report"):
        refused(fnosweep(command, str(spec), cwd=tmp_path),
                f"storage sqlite:///{tmp_path}/studies/tiny.db: the file is empty (0 bytes), not a study database")
    assert (tmp_path / "studies" / "tiny.db").stat().st_size == 0
    assert sorted(os.listdir(tmp_path)) == ["studies", "sweep.yaml"] and os.listdir(tmp_path / "studies") == ["tiny.db"]


def test_a_new_database_file_is_still_created(tmp_path):
    from fnosweep.store import Store

    Store.open(f"sqlite:///{tmp_path}/new.db").close()
    Store.open(f"sqlite:///{tmp_path}/new.db").close()  # and opened again: it is no longer empty
    assert (tmp_path / "new.db").stat().st_size > 0


# -- data files (items 19, 21) ------------------------------------------------------------------


class _Payload:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch pickled-code-ran",))


def test_the_pickle_refusal_gives_no_advice_to_unpickle(tmp_path, monkeypatch):
    import torch

    from fnosweep.data.io import load_split
    from fnosweep.errors import DataError

    monkeypatch.chdir(tmp_path)
    torch.save({"x": _Payload(), "y": _Payload()}, tmp_path / "evil.pt")
    with pytest.raises(DataError) as caught:
        load_split(tmp_path / "evil.pt")
    message = str(caught.value)
    assert "weights_only" not in message and "will likely succeed" not in message
    assert "it holds pickled Python objects, not only tensors" in message and "system" in message
    assert "\n" not in message and not (tmp_path / "pickled-code-ran").exists()


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    import torch

    from fnosweep.data import io

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a real pid, no longer running: the writer SIGKILLed mid-save
    target = tmp_path / "darcy_train_8.pt"
    orphan = tmp_path / f".{target.name}.{io._HOST}.{dead.pid}.0badf00d.tmp"
    live = tmp_path / f".{target.name}.{io._HOST}.{os.getpid()}.0badf00d.tmp"  # a writer still at work
    remote = tmp_path / f".{target.name}.otherhost.{dead.pid}.0badf00d.tmp"  # its pid means nothing here
    for path in (orphan, live, remote):
        path.write_bytes(b"half a tensor")
    io.write_split(target, torch.zeros(2, 8, 8), torch.zeros(2, 8, 8), {"n": 2})
    assert not orphan.exists() and live.exists() and remote.exists()
    assert io.load_split(target)[0].shape == (2, 1, 8, 8)
