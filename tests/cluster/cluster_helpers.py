"""A Ray head started by hand for the cluster tests, as docker-compose's head is, and stopped.

`ray stop` would stop every Ray on the machine (the suite's shared local Ray too):
this head runs as `ray start --head --block` in its own process group, with its own
temp dir and ports, and is stopped by signalling that group only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from pg import free_port

VENV_BIN = Path(sys.executable).parent
SUBMIT_CLI = Path(__file__).with_name("submit_cli.py")


@dataclass
class RayHead:
    dashboard: str
    """http://127.0.0.1:<port>, the Jobs API."""
    gcs_address: str
    token: str
    temp_dir: Path
    env: dict[str, str]
    """The environment of the head (and what a client of it needs: the token, PATH)."""

    def client_env(self, **extra: str) -> dict[str, str]:
        """A client's environment: the cluster's token, nothing of the test process's Ray."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(RAY_AUTH_TOKEN=self.token, PATH=self.env["PATH"], HOME=str(self.temp_dir))
        env.update(extra)
        return env


def _wait_ready(url: str, token: str, deadline: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    # The dashboard answers before the node has registered: ready means one ALIVE node.
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException, KeyError, ValueError):
            rows = requests.get(f"{url}/api/v0/nodes?limit=10", headers=headers, timeout=2).json()
            if any(n["state"] == "ALIVE" for n in rows["data"]["result"]["result"]):
                return
        time.sleep(0.5)
    raise RuntimeError(f"the Ray head did not come up in time:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def ray_head(num_cpus: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[RayHead]:
    """A token-authenticated Ray head on 127.0.0.1 with its dashboard, stopped on the way out."""
    # A short path under /tmp: Ray's unix sockets live in it and their paths are limited to 107 bytes.
    temp_dir = Path(tempfile.mkdtemp(prefix="rayh-", dir="/tmp"))
    token = secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(
        # the job's entrypoint runs `python`: the venv's, as the image's is on the cluster
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(temp_dir),  # keeps ~/.ray/auth_token of this machine out of it
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN=token,
        RAY_USAGE_STATS_ENABLED="0",
        FNOSWEEP_HOME=str(temp_dir / "home"),
        **(extra_env or {}),
    )
    gcs, dash = free_port(), free_port()
    ports = {  # every port explicit: the defaults (dashboard agent 52365, client 10001) may be taken
        "--port": gcs,
        "--dashboard-port": dash,
        "--dashboard-agent-listen-port": free_port(),
        "--dashboard-agent-grpc-port": free_port(),
        "--runtime-env-agent-port": free_port(),
        "--metrics-export-port": free_port(),
        "--ray-client-server-port": free_port(),
        "--node-manager-port": free_port(),
        "--object-manager-port": free_port(),
    }
    cmd = [
        str(VENV_BIN / "ray"),
        "start",
        "--head",
        "--block",
        "--temp-dir",
        str(temp_dir),
        f"--num-cpus={num_cpus}",
        "--num-gpus=0",
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        "--disable-usage-stats",
    ]
    cmd += [f"{k}={v}" for k, v in ports.items()]
    log = temp_dir / "ray-start.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{dash}"
    try:
        _wait_ready(url, token, time.monotonic() + 120, proc, log)
        yield RayHead(url, f"127.0.0.1:{gcs}", token, temp_dir, env)
    finally:
        _stop(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # SIGTERM to `ray start --block` stops its node; then anything left in its group goes.
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def run_submit(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`fnosweep submit ARGS` in a fresh process (its own Ray client state and environment)."""
    return subprocess.run(
        [sys.executable, str(SUBMIT_CLI), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
