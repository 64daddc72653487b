"""`fnosweep submit`: its decisions as tables, its failures against fake servers, and the
real path (slow): a PostgreSQL server and a token-authenticated Ray head started by
hand, as docker-compose starts them, then a tiny sweep submitted and waited for."""

from __future__ import annotations

import dataclasses
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_helpers import RayHead, ray_head, run_submit

from fnosweep.cluster.entry import anchor, cluster_home
from fnosweep.cluster.jobs import (
    Submitted,
    cluster_warnings,
    find_token,
    follow_commands,
    log_tail,
    normalize_address,
    probe,
    unplaceable,
)
from fnosweep.errors import ExecutionError
from fnosweep.space import load_spec
from fnosweep.spec import ResourcesSpec
from pg import PostgresServer, free_port
from sweep_builders import tiny_doc, tiny_spec

CPU_NODE = {"CPU": 4.0, "memory": 8e9}
GPU_NODE = {"CPU": 8.0, "GPU": 1.0, "memory": 32e9}

# ----------------------------------------------------------------------------- pure decisions


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://10.0.0.5:8265", "http://10.0.0.5:8265"),
        ("http://10.0.0.5:8265/", "http://10.0.0.5:8265"),
        ("127.0.0.1:8265", "http://127.0.0.1:8265"),
        ("https://ray.example.org", "https://ray.example.org"),
    ],
)
def test_address_is_the_dashboards_http_url(given: str, expected: str) -> None:
    assert normalize_address(given) == expected


@pytest.mark.parametrize("bad", ["ray://head:10001", "http://", "grpc://head:6379"])
def test_address_that_is_not_http_is_refused_with_the_value(bad: str) -> None:
    with pytest.raises(ExecutionError, match="HTTP address.*but got"):
        normalize_address(bad)


def test_token_is_found_where_ray_looks_in_rays_order(tmp_path: Path) -> None:
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    file = tmp_path / "tok"
    file.write_text("from-path")
    assert find_token({"RAY_AUTH_TOKEN": "from-env", "RAY_AUTH_TOKEN_PATH": str(file)}, tmp_path) == (
        "from-env",
        "RAY_AUTH_TOKEN",
    )
    assert find_token({"RAY_AUTH_TOKEN_PATH": str(file)}, tmp_path) == ("from-path", "RAY_AUTH_TOKEN_PATH")
    assert find_token({}, tmp_path) == ("from-home", "~/.ray/auth_token")
    assert find_token({"RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN": "x"}, tmp_path) is None
    assert find_token({}, tmp_path / "nobody") is None


def test_sqlite_study_on_a_multi_node_cluster_is_warned_about(tmp_path: Path) -> None:
    spec = tiny_spec(tmp_path, execution__backend="ray")
    assert any("SQLite" in w for w in cluster_warnings(spec, [CPU_NODE, CPU_NODE]))
    assert any("SQLite" in w for w in cluster_warnings(spec, None))  # node count unknown: say it
    assert cluster_warnings(spec, [CPU_NODE]) == []  # one node: the driver's disk is the only disk


def test_postgres_study_on_a_cluster_needs_no_warning(tmp_path: Path) -> None:
    spec = tiny_spec(tmp_path, study__storage="postgresql://u@db/x", execution__backend="ray")
    assert cluster_warnings(spec, [CPU_NODE, CPU_NODE]) == []


def test_inline_backend_and_a_fixed_address_are_warned_about(tmp_path: Path) -> None:
    spec = tiny_spec(tmp_path, study__storage="postgresql://u@db/x", execution__address="10.0.0.5:6379")
    warnings = cluster_warnings(spec, [CPU_NODE])
    assert any("inline" in w for w in warnings)
    assert any("execution.address" in w for w in warnings)


@pytest.mark.parametrize(
    ("resources", "nodes", "missing"),
    [
        (ResourcesSpec(cpu=1, gpu=0.25), [CPU_NODE, GPU_NODE], None),  # four trials share the GPU node
        (ResourcesSpec(cpu=1, gpu=0.25), [CPU_NODE, CPU_NODE], "cpu 1, gpu 0.25"),
        (ResourcesSpec(cpu=6), [CPU_NODE, CPU_NODE], "cpu 6"),  # 8 CPUs in all, but a task runs on one node
        (ResourcesSpec(cpu=1, memory_mb=16_000), [CPU_NODE, GPU_NODE], None),
        (ResourcesSpec(cpu=1, memory_mb=64_000), [CPU_NODE, GPU_NODE], "cpu 1, memory 64000 MiB"),
    ],
)
def test_a_trial_that_fits_no_single_node_is_named(
    resources: ResourcesSpec, nodes: list[dict[str, float]], missing: str | None
) -> None:
    assert unplaceable(resources, nodes) == missing


def test_gpu_trial_on_a_cpu_cluster_is_warned_about(tmp_path: Path) -> None:
    spec = tiny_spec(
        tmp_path, study__storage="postgresql://u@db/x", execution__backend="ray", execution__resources={"gpu": 0.25}
    )
    assert any("gpu 0.25" in w for w in cluster_warnings(spec, [CPU_NODE]))


def test_follow_commands_name_the_job_and_the_auth_mode() -> None:
    lines = follow_commands(Submitted("http://127.0.0.1:8265", "fnosweep-x-1", authenticated=True))
    assert lines[0] == (
        "follow:    RAY_API_SERVER_ADDRESS=http://127.0.0.1:8265 RAY_AUTH_MODE=token ray job logs --follow fnosweep-x-1"
    )
    assert lines[-1] == "dashboard: http://127.0.0.1:8265/#/jobs/fnosweep-x-1"


def test_log_tail_keeps_the_last_lines() -> None:
    assert log_tail("".join(f"line {i}\n" for i in range(100)), 3) == "line 97\nline 98\nline 99"


def test_shipped_spec_parses_back_to_the_same_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FNOSWEEP_STORAGE", "postgresql://u:secret@db/x")
    doc = tiny_doc(tmp_path, execution={"backend": "ray", "resources": {"cpu": 1, "gpu": 0.25}})
    doc["study"]["storage"] = "${FNOSWEEP_STORAGE}"
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    spec = load_spec(tmp_path / "s.yaml", ["training.epochs=3"])
    shipped = yaml.safe_dump(spec.to_dict(), sort_keys=False)
    assert "secret" not in shipped  # the password stays in the environment
    (tmp_path / "shipped.yaml").write_text(shipped)
    again = load_spec(tmp_path / "shipped.yaml")
    assert dataclasses.replace(again, source=spec.source) == spec


def test_cluster_entry_anchors_relative_data_under_its_home(tmp_path: Path) -> None:
    spec = tiny_spec(tmp_path, data__root="data/")
    assert anchor(spec, Path("/srv/fnosweep")).data.root == "/srv/fnosweep/data"
    absolute = tiny_spec(tmp_path)
    assert anchor(absolute, Path("/srv/fnosweep")) is absolute
    assert cluster_home({"FNOSWEEP_HOME": "/srv/fnosweep"}) == Path("/srv/fnosweep")
    assert cluster_home({}) == Path.home() / "fnosweep"


# ----------------------------------------------------------------------------- bad addresses


def test_nothing_listening_fails_within_seconds() -> None:
    started = time.monotonic()
    with pytest.raises(ExecutionError, match="nothing answers at http://127.0.0.1:.*connection refused"):
        probe(f"http://127.0.0.1:{free_port()}", {})
    assert time.monotonic() - started < 10


def test_silent_host_fails_after_the_timeout() -> None:
    # 192.0.2.0/24 is TEST-NET-1: routed nowhere, so the connection attempt hangs, not refuses.
    started = time.monotonic()
    with pytest.raises(ExecutionError, match="within 1 s|nothing answers"):
        probe("http://192.0.2.123:8265", {}, timeout=1)
    assert time.monotonic() - started < 10


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 404
    body = b"<html>not here</html>"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_web_server_that_is_not_ray_is_named_so(http_server: tuple[str, type[_Handler]]) -> None:
    url, _ = http_server
    with pytest.raises(ExecutionError, match=r"not as a Ray Jobs API \(GET /api/version gave HTTP 404, text/html\)"):
        probe(url, {})


def test_a_cluster_that_wants_a_token_says_how_to_give_it(http_server: tuple[str, type[_Handler]]) -> None:
    url, handler = http_server
    handler.status = 401
    with pytest.raises(ExecutionError, match="requires an auth token: set RAY_AUTH_TOKEN"):
        probe(url, {})
    handler.status = 403
    with pytest.raises(ExecutionError, match="refused the auth token"):
        probe(url, {"Authorization": "Bearer wrong"})


def test_a_port_that_does_not_speak_http_is_not_a_jobs_api() -> None:
    # A listener that accepts and says nothing, as a gRPC port does to an HTTP/1 request.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with pytest.raises(ExecutionError, match="not a Ray Jobs API"):
            probe(f"http://127.0.0.1:{listener.getsockname()[1]}", {}, timeout=1)


def test_submit_to_nothing_is_one_line_and_exit_1(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(tiny_doc(tmp_path, execution={"backend": "ray"})))
    started = time.monotonic()
    done = run_submit(["submit", str(spec), "--address", f"http://127.0.0.1:{free_port()}", "--wait"], env=None)
    assert time.monotonic() - started < 20  # a fresh interpreter importing ray, then one refused request
    assert done.returncode == 1
    assert done.stderr.strip().startswith("fnosweep: nothing answers at http://127.0.0.1:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_submit_refuses_an_invalid_spec_before_any_request(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(tiny_doc(tmp_path)))
    done = run_submit(["submit", str(spec), "--address", "http://127.0.0.1:1", "--set", "training.lr=0"], env=None)
    assert done.returncode == 1
    assert "training.lr" in done.stderr and "nothing answers" not in done.stderr


# ----------------------------------------------------------------------------- the real path (slow)


@pytest.fixture(scope="module")
def cluster(postgres_server: PostgresServer) -> Iterator[tuple[RayHead, PostgresServer]]:  # noqa: F811
    # The head gets the storage URL from its own environment, as the compose file gives it.
    with ray_head(extra_env={"FNOSWEEP_STORAGE": postgres_server.url}) as head:
        yield head, postgres_server


def _write_spec(tmp_path: Path, name: str, storage: str = "${FNOSWEEP_STORAGE}", **dotted: Any) -> Path:
    doc = tiny_doc(tmp_path, name, **dotted)
    doc["study"].update(storage=storage, n_trials=2)
    doc["execution"] = {"backend": "ray", "max_concurrent": 2, "resources": {"cpu": 1}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.slow
def test_submit_wait_runs_the_sweep_on_the_cluster_into_postgres(
    cluster: tuple[RayHead, PostgresServer], tmp_path: Path
) -> None:
    import optuna
    from optuna.trial import TrialState

    from fnosweep.store import Store

    head, pg = cluster
    spec = _write_spec(tmp_path, "on_cluster")
    env = head.client_env(FNOSWEEP_STORAGE=pg.url)  # for validating here; the job reads the head's own
    done = run_submit(["submit", str(spec), "--address", head.dashboard, "--wait"], env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SUCCEEDED" in done.stdout
    print(done.stdout)  # the job's log, as a user sees it (pytest -s)
    assert pg.password not in done.stdout + done.stderr
    assert "warning" not in done.stderr  # PostgreSQL, one node, trials fit

    storage = optuna.storages.RDBStorage(pg.url.replace("postgresql://", "postgresql+psycopg://"))
    study = optuna.load_study(study_name="on_cluster", storage=storage)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.COMPLETE]
    rows = Store.open(pg.url).trials("on_cluster")
    assert sorted((r.number, r.state) for r in rows) == [(0, "COMPLETE"), (1, "COMPLETE")]
    assert all(r.value is not None for r in rows)


@pytest.mark.slow
def test_a_failed_job_exits_1_with_the_tail_of_its_log(cluster: tuple[RayHead, PostgresServer], tmp_path: Path) -> None:
    head, pg = cluster
    # Set here (the spec validates), missing on the cluster: the driver there refuses the spec.
    spec = _write_spec(tmp_path, "fails", storage="${ONLY_ON_THE_LAPTOP}")
    done = run_submit(
        ["submit", str(spec), "--address", head.dashboard, "--wait"], head.client_env(ONLY_ON_THE_LAPTOP=pg.url)
    )
    assert done.returncode == 1
    assert "--- last lines of the log of fnosweep-fails-" in done.stderr
    assert "environment variable ONLY_ON_THE_LAPTOP is not set" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("fnosweep: job fnosweep-fails-")
    assert "FAILED" in done.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_submit_without_wait_prints_the_job_and_how_to_follow_it(
    cluster: tuple[RayHead, PostgresServer], tmp_path: Path
) -> None:
    head, pg = cluster
    spec = _write_spec(tmp_path, "nowait", storage="${ONLY_ON_THE_LAPTOP}")  # fails at once on the cluster
    done = run_submit(["submit", str(spec), "--address", head.dashboard], head.client_env(ONLY_ON_THE_LAPTOP=pg.url))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    job_id = lines[0].split()[1].rstrip(":")
    assert job_id.startswith("fnosweep-nowait-")
    assert f"ray job logs --follow {job_id}" in done.stdout
    assert f"ray job status {job_id}" in done.stdout


@pytest.mark.slow
def test_wrong_or_missing_token_is_refused_clearly(cluster: tuple[RayHead, PostgresServer], tmp_path: Path) -> None:
    head, pg = cluster
    spec = _write_spec(tmp_path, "auth")
    env = head.client_env(FNOSWEEP_STORAGE=pg.url, RAY_AUTH_TOKEN="not-the-token")
    done = run_submit(["submit", str(spec), "--address", head.dashboard], env)
    assert done.returncode == 1 and "refused the auth token" in done.stderr
    del env["RAY_AUTH_TOKEN"]
    done = run_submit(["submit", str(spec), "--address", head.dashboard], env)
    assert done.returncode == 1 and "requires an auth token" in done.stderr


@pytest.mark.slow
def test_fnosweep_run_with_execution_address_uses_the_cluster(
    cluster: tuple[RayHead, PostgresServer], tmp_path: Path
) -> None:
    import subprocess

    from fnosweep.store import Store

    head, pg = cluster
    spec = _write_spec(tmp_path, "run_remote")
    # An explicit address never turns token auth on by itself: the client says RAY_AUTH_MODE=token.
    env = head.client_env(FNOSWEEP_STORAGE=pg.url, RAY_AUTH_MODE="token")
    done = subprocess.run(
        [
            str(Path(head.env["PATH"].split(":")[0]) / "fnosweep"),
            "run",
            str(spec),
            "--set",
            f"execution.address={head.gcs_address}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = Store.open(pg.url).trials("run_remote")
    assert sorted((r.number, r.state) for r in rows) == [(0, "COMPLETE"), (1, "COMPLETE")]
