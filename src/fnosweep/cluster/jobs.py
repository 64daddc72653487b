"""`fnosweep submit`: send a sweep to a Ray cluster through the Ray Jobs API.

The spec is validated here, then travels with the job as one small file (the
`working_dir` of the job's runtime env holds only `spec.yaml`: the cluster image
already has fnosweep installed). On the cluster, `python -m fnosweep.cluster.entry
spec.yaml` runs the same driver as `fnosweep run`, connected to its own Ray
(`ray.init(address="auto")`); the study database is the one named by the spec, and
a `${VAR}` in `study.storage` is read from the head node's environment, so no
password leaves this machine.

Token authentication: Ray's Jobs API wants `Authorization: Bearer <token>` when the
cluster runs with `RAY_AUTH_MODE=token`. The token is found where Ray's own clients
look (`RAY_AUTH_TOKEN`, then the file at `RAY_AUTH_TOKEN_PATH`, then
`~/.ray/auth_token`) and sent explicitly, because Ray's client adds it only when this
process itself runs with `RAY_AUTH_MODE=token`.

Only this module and `cluster.entry` talk to the Jobs API; ray is imported inside the
functions that need it, so `fnosweep --help` stays light.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fnosweep.errors import ExecutionError

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

    from fnosweep.spec import ResourcesSpec, SweepSpec

SPEC_FILE = "spec.yaml"
ENTRY_MODULE = "fnosweep.cluster.entry"
CONNECT_TIMEOUT_S = 5.0
"""How long the first request may take: an address where nothing answers fails fast."""
POLL_S = 1.0
"""How often `--wait` asks for new log lines and the job's status."""
TAIL_LINES = 30
"""Lines of the job's log repeated on stderr when it fails."""
_ADDRESS_VARS = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")


@dataclass(frozen=True)
class ClusterInfo:
    """What the Jobs API says about the cluster before a job is sent."""

    address: str
    ray_version: str
    nodes: tuple[Mapping[str, float], ...] | None
    """Total resources of each alive node; None when the cluster would not say."""


@dataclass(frozen=True)
class Submitted:
    address: str
    job_id: str
    authenticated: bool


# ----------------------------------------------------------------------------- pure decisions


def normalize_address(address: str) -> str:
    """The dashboard's HTTP address: `http://` added when no scheme is given, no trailing `/`."""
    given = address
    address = address.strip()
    if "://" not in address:
        address = f"http://{address}"
    parts = urlsplit(address)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ExecutionError(
            f"--address must be the Ray dashboard's HTTP address, such as http://HEAD:8265, but got {given!r}"
        )
    return address.rstrip("/")


def find_token(env: Mapping[str, str] = os.environ, home: Path | None = None) -> tuple[str, str] | None:
    """(token, where it came from), looked up in Ray's own order; None without one or with auth disabled."""
    if env.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return None
    if env.get("RAY_AUTH_TOKEN", "").strip():
        return env["RAY_AUTH_TOKEN"].strip(), "RAY_AUTH_TOKEN"
    paths = [(Path(env["RAY_AUTH_TOKEN_PATH"]), "RAY_AUTH_TOKEN_PATH")] if env.get("RAY_AUTH_TOKEN_PATH") else []
    paths.append(((home or Path.home()) / ".ray" / "auth_token", "~/.ray/auth_token"))
    for path, where in paths:
        with contextlib.suppress(OSError):
            token = path.read_text().strip()
            if token:
                return token, where
    return None


def cluster_warnings(spec: SweepSpec, nodes: Sequence[Mapping[str, float]] | None) -> list[str]:
    """What a user should know before this spec runs on that cluster (nothing stops it)."""
    out = []
    if spec.study.storage.startswith("sqlite") and (nodes is None or len(nodes) > 1):
        out.append(
            "study.storage is SQLite: on a multi-node cluster only the driver (on the head node) writes it, "
            "into $FNOSWEEP_HOME there; that disk must persist, and nothing off the head can read the study. "
            "Use PostgreSQL (docs/cluster.md)"
        )
    if spec.execution.backend == "inline":
        out.append(
            "execution.backend is inline: trials would run inside the job's driver on the head node, "
            "not on Ray workers; use --set execution.backend=ray"
        )
    if spec.execution.address is not None:
        out.append(
            f"execution.address ({spec.execution.address}) is ignored on the cluster: "
            "the job's driver joins the cluster it runs on"
        )
    if nodes is not None:
        missing = unplaceable(spec.execution.resources, nodes)
        if missing:
            out.append(
                f"no node of the cluster has {missing} for one trial: trials will wait until one joins "
                "(GPU workers: docker compose --profile gpu up)"
            )
    return out


def unplaceable(resources: ResourcesSpec, nodes: Sequence[Mapping[str, float]]) -> str | None:
    """The per-trial request no single node can meet (a task runs on one node), or None."""
    need = {"CPU": resources.cpu, "GPU": resources.gpu}
    if resources.memory_mb:
        need["memory"] = resources.memory_mb * 1024 * 1024
    for node in nodes:
        if all(node.get(k, 0.0) >= v for k, v in need.items() if v):
            return None
    parts = [f"cpu {resources.cpu:g}"]
    if resources.gpu:
        parts.append(f"gpu {resources.gpu:g}")
    if resources.memory_mb:
        parts.append(f"memory {resources.memory_mb} MiB")
    return ", ".join(parts)


def log_tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# ----------------------------------------------------------------------------- the Jobs API


def probe(address: str, headers: Mapping[str, str], timeout: float = CONNECT_TIMEOUT_S) -> ClusterInfo:
    """Ask the cluster for its version and nodes; every way it can fail becomes one clear line.

    Ray's client sends its first request without a timeout: a host that drops packets
    would hang it for minutes. This request has one.
    """
    import requests

    not_jobs_api = f"{address} is not a Ray Jobs API: give the Ray dashboard's address, http://HEAD:8265"
    try:
        r = requests.get(f"{address}/api/version", headers=dict(headers), timeout=timeout)
    except requests.exceptions.ConnectTimeout:
        raise ExecutionError(f"no answer from {address} within {timeout:g} s: is the Ray head up, reachable?") from None
    except requests.exceptions.ReadTimeout:
        raise ExecutionError(f"{not_jobs_api} (it accepted the connection, then was silent {timeout:g} s)") from None
    except requests.exceptions.ConnectionError as e:
        if not _refused(e):  # something listens there, but does not speak HTTP (a GCS port, say)
            raise ExecutionError(f"{not_jobs_api} (it does not answer HTTP)") from None
        raise ExecutionError(
            f"nothing answers at {address} (connection refused or unknown host): is the Ray head up, and its "
            "dashboard port (8265) published? (`docker compose ps`)"
        ) from None
    except requests.exceptions.RequestException as e:
        raise ExecutionError(f"cannot reach {address}: {type(e).__name__}: {first_line(e)}") from None
    _check_auth(address, r.status_code, bool(headers))
    version = _json(r).get("ray_version") if r.status_code == 200 else None
    if not isinstance(version, str):
        kind = r.headers.get("content-type", "?").split(";")[0]
        raise ExecutionError(
            f"{address} answers, but not as a Ray Jobs API (GET /api/version gave HTTP {r.status_code}, {kind}): "
            "give the Ray dashboard's address, http://HEAD:8265"
        )
    return ClusterInfo(address, version, _alive_nodes(address, headers, timeout))


def _refused(e: Exception) -> bool:
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

    cause = e.args[0] if e.args else None
    reason = cause.reason if isinstance(cause, MaxRetryError) else cause
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _check_auth(address: str, status: int, sent_token: bool) -> None:
    if status == 401:
        raise ExecutionError(
            f"the Ray cluster at {address} requires an auth token: set RAY_AUTH_TOKEN (the value in the cluster's "
            ".env) or put it in ~/.ray/auth_token"
        )
    if status == 403 and sent_token:
        raise ExecutionError(f"the Ray cluster at {address} refused the auth token: it is not the cluster's token")


def _json(r: Any) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _alive_nodes(address: str, headers: Mapping[str, str], timeout: float) -> tuple[Mapping[str, float], ...] | None:
    # The state API behind `ray list nodes`; a cluster that will not say is not an error.
    import requests

    try:
        r = requests.get(f"{address}/api/v0/nodes?limit=1000&detail=false", headers=dict(headers), timeout=timeout)
        rows = _json(r)["data"]["result"]["result"]
        return tuple(dict(n.get("resources_total") or {}) for n in rows if n.get("state") == "ALIVE") or None
    except (requests.exceptions.RequestException, KeyError, TypeError):
        return None


@contextlib.contextmanager
def _explicit_address() -> Iterator[None]:
    # Ray's client lets RAY_API_SERVER_ADDRESS / RAY_ADDRESS override the address it is given;
    # --address is what the user asked for, so hide them while the client is built.
    saved = {k: os.environ.pop(k) for k in _ADDRESS_VARS if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def connect(address: str, headers: Mapping[str, str]) -> JobSubmissionClient:
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobSubmissionClient

    try:
        with _explicit_address():
            return JobSubmissionClient(address, headers=dict(headers))
    except (ConnectionError, RuntimeError, AuthenticationError) as e:
        raise ExecutionError(f"Ray Jobs API at {address}: {first_line(e)}") from None


def submit_spec(client: JobSubmissionClient, spec: SweepSpec, *, address: str, authenticated: bool) -> Submitted:
    """Send the resolved spec as a job that runs the driver on the cluster."""
    import yaml

    submission_id = f"fnosweep-{spec.study.name}-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="fnosweep-job-") as tmp:
        # Only the spec travels: the image has fnosweep; `to_dict` keeps `${VAR}` unreplaced.
        (Path(tmp) / SPEC_FILE).write_text(yaml.safe_dump(spec.to_dict(), sort_keys=False))
        try:
            job_id = client.submit_job(
                entrypoint=f"python -m {ENTRY_MODULE} {SPEC_FILE}",
                submission_id=submission_id,
                runtime_env={"working_dir": tmp},
                metadata={"fnosweep_study": spec.study.name, "fnosweep_spec": str(spec.source)},
            )
        except (ConnectionError, RuntimeError) as e:
            raise ExecutionError(f"the cluster at {address} refused the job: {first_line(e)}") from None
    return Submitted(address, job_id, authenticated)


def follow(client: JobSubmissionClient, job_id: str, out: Any = None) -> tuple[str, str, str]:
    """Print the job's log as it grows until the job ends; (status, message, whole log)."""
    out = out or sys.stdout
    printed = 0
    while True:
        info = client.get_job_info(job_id)  # status first: a log read after it holds every line
        logs = client.get_job_logs(job_id)
        if len(logs) > printed:
            out.write(logs[printed:])
            out.flush()
            printed = len(logs)
        if info.status.is_terminal():
            return str(info.status), info.message or "", logs
        time.sleep(POLL_S)


def follow_commands(job: Submitted) -> list[str]:
    env = f"RAY_API_SERVER_ADDRESS={job.address}" + (" RAY_AUTH_MODE=token" if job.authenticated else "")
    return [
        f"follow:    {env} ray job logs --follow {job.job_id}",
        f"status:    {env} ray job status {job.job_id}",
        f"stop:      {env} ray job stop {job.job_id}",
        f"dashboard: {job.address}/#/jobs/{job.job_id}",
    ]


def first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
