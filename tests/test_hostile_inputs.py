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
    for args in (["run", str(spec)], ["report", url], ["trials", url], ["diagnose", url], ["dashboard", url],
                 ["report", str(spec)]):
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
    from fnosweep.view.synthetic import build_sweep, synthetic_spec

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
