"""A throwaway PostgreSQL server for tests: a temp dir, 127.0.0.1, a free port, a password.

Use the context manager, or the session fixture (import it into a test module):

    from pg import postgres_server, PostgresServer   # tests/ is on sys.path

    def test_x(postgres_server: PostgresServer) -> None:
        url = postgres_server.url      # postgresql://fnosweep:<pw>@127.0.0.1:<port>/fnosweep
        db = postgres_server.new_database("test_x")   # a fresh database on the same server

The binaries come from `$PG_BIN`, `/usr/lib/postgresql/<version>/bin` (15 first) or
`PATH`; `scripts/postgres.sh` installs them on a fresh Debian machine. Without them
the fixture skips, except under CI (`CI` set), where a missing server is a failure.
initdb refuses to run as root: as root, every server command runs as the `postgres`
user (or `nobody`) through `runuser`, in a temp dir that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_VERSION = "15"
USER = "fnosweep"
DATABASE = "fnosweep"


def find_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are, or None."""
    candidates = [os.environ.get("PG_BIN", "")]
    candidates.append(f"/usr/lib/postgresql/{PG_VERSION}/bin")
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    on_path = shutil.which("pg_ctl")
    if on_path and (Path(on_path).parent / "initdb").exists():
        return Path(on_path).parent
    return None


def free_port() -> int:
    # Racy by nature (the port is free now, not reserved): good enough for a test server.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> str | None:
    """The unprivileged user to run the server as, when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")


@dataclass
class PostgresServer:
    """A running server; `stop()` (or leaving the context manager) removes it and its files."""

    bin_dir: Path
    root: Path
    port: int
    password: str
    run_as: str | None

    @property
    def url(self) -> str:
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str) -> str:
        """Create a database on this server; returns its URL (for tests that want a clean one)."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url_for(name)

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / tool), *args]
        if self.run_as is not None:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        env = {**os.environ, "PGPASSWORD": self.password, "LC_ALL": "C"}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")
        return done

    def start(self) -> None:
        data = self.root / "data"
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if self.run_as is not None:
            shutil.chown(self.root, self.run_as)
            shutil.chown(pwfile, self.run_as)
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        )
        pwfile.unlink()
        # Only TCP on loopback; the socket in the data dir so nothing is shared with a system server.
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{data}'",
            "fsync": "off",  # a throwaway server: durability buys nothing here
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "shared_buffers": "32MB",
        }
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE)

    def stop(self) -> None:
        data = self.root / "data"
        try:
            if (data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a server in a fresh temp dir; stop it and remove its files on the way out."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl) not found: run `bash scripts/postgres.sh`")
    # Under /tmp, not pytest's tmp_path: that one is private to root, and the server user must reach it.
    root = Path(tempfile.mkdtemp(prefix="fnosweep-pg-", dir="/tmp"))
    server = PostgresServer(bin_dir, root, free_port(), secrets.token_urlsafe(16), _server_user())
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session (skipped without binaries, except under CI)."""
    if find_bin_dir() is None:
        message = "PostgreSQL binaries not found (install them with `bash scripts/postgres.sh`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with running_postgres() as server:
        yield server
