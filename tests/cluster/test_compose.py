"""docker-compose.yml, Dockerfile and the env files, read as data (no Docker engine here).

What they promise: the services, ports on 127.0.0.1 only, healthchecks, the study's
volume, no literal secret, one image for head and workers, token auth on, a GPU profile.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RAY_SERVICES = ("ray-head", "ray-worker", "ray-worker-gpu")
SECRET_KEY = re.compile(r"PASSWORD|TOKEN|SECRET", re.IGNORECASE)
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _only_vars(value: str) -> bool:
    """True when every secret-looking part of a value is a ${VAR}."""
    return VAR.fullmatch(value) is not None


def test_the_cluster_has_its_services(services: dict[str, Any]) -> None:
    assert {"postgres", "ray-head", "ray-worker", "ray-worker-gpu", "optuna-dashboard"} <= set(services)


def test_every_published_port_is_on_loopback(services: dict[str, Any]) -> None:
    published = [(name, str(p)) for name, s in services.items() for p in s.get("ports", [])]
    assert published, "nothing is published: the Jobs API must be reachable from the host"
    for name, port in published:
        assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"
    assert "127.0.0.1:${RAY_DASHBOARD_PORT:-8265}:8265" in services["ray-head"]["ports"]


def test_every_0_0_0_0_carries_a_comment_saying_why() -> None:
    lines = (REPO / "docker-compose.yml").read_text().splitlines()
    for i, line in enumerate(lines):
        if "0.0.0.0" in line and not line.lstrip().startswith("#"):
            said = "#" in line or any("0.0.0.0" in x and x.lstrip().startswith("#") for x in lines[max(0, i - 4) : i])
            assert said, f"docker-compose.yml:{i + 1}: binds 0.0.0.0 without a comment saying why"


def test_the_gcs_port_is_not_published(services: dict[str, Any]) -> None:
    head = services["ray-head"]
    assert "--port=6379" in head["command"]
    assert not any("6379" in str(p) for p in head.get("ports", []))


def test_services_that_others_wait_for_have_healthchecks(services: dict[str, Any]) -> None:
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name in ("ray-head", "ray-worker", "ray-worker-gpu", "optuna-dashboard"):
        assert services[name]["healthcheck"]["test"], name
    assert services["ray-head"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["ray-worker"]["depends_on"]["ray-head"]["condition"] == "service_healthy"


def test_the_study_lives_in_a_named_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    assert "postgres-data" in compose["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert services["postgres"]["image"].startswith("postgres:15")


def test_no_literal_secret_in_the_compose_file(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key, value in _env(service).items():
            if SECRET_KEY.search(key):
                assert _only_vars(value), f"{name}: {key} must be a ${{VAR}} from .env, not {value!r}"
            for user_pass in re.findall(r"://[^/@\s]*:([^@\s]+)@", value):  # a password inside a URL
                assert _only_vars(user_pass), f"{name}: {key} holds a literal password"
    text = (REPO / "docker-compose.yml").read_text()
    assert "change-me" not in text


def test_ray_token_auth_is_on_for_every_node(services: dict[str, Any]) -> None:
    for name in RAY_SERVICES:
        env = _env(services[name])
        assert env["RAY_AUTH_MODE"] == "token", name
        assert VAR.fullmatch(env["RAY_AUTH_TOKEN"]).group(1) == "RAY_AUTH_TOKEN", name  # type: ignore[union-attr]
    assert "disabled" not in (REPO / "docker-compose.yml").read_text()


def test_only_the_driver_gets_database_credentials(services: dict[str, Any]) -> None:
    assert "FNOSWEEP_STORAGE" in _env(services["ray-head"])
    for name in ("ray-worker", "ray-worker-gpu"):
        assert not any("POSTGRES" in v or "STORAGE" in k for k, v in _env(services[name]).items()), name


def test_head_and_workers_share_one_image_build(services: dict[str, Any]) -> None:
    head, worker, dashboard = services["ray-head"], services["ray-worker"], services["optuna-dashboard"]
    assert head["image"] == worker["image"] == dashboard["image"]
    assert head["build"] == worker["build"] == dashboard["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    gpu = services["ray-worker-gpu"]
    assert gpu["build"]["dockerfile"] == "Dockerfile" and "TORCH_VARIANT" in gpu["build"]["args"]


def test_workers_scale_and_gpus_come_with_a_profile(services: dict[str, Any]) -> None:
    assert "replicas" in services["ray-worker"]["deploy"]
    assert "profiles" not in services["ray-worker"]
    gpu = services["ray-worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert "--num-gpus=${RAY_GPU_WORKER_NUM_GPUS:-1}" in gpu["command"]


def test_optuna_dashboard_reads_the_postgres_study(services: dict[str, Any]) -> None:
    dash = services["optuna-dashboard"]
    assert "optuna-dashboard" in " ".join(dash["command"])
    assert _env(dash)["OPTUNA_STORAGE"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in _env(dash)["OPTUNA_STORAGE"]


def test_env_example_names_every_required_variable() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", text))
    example = (REPO / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", example, re.MULTILINE))
    assert required and required <= defined, f"missing from .env.example: {required - defined}"
    for name in required:  # placeholders only
        assert re.search(rf"^{name}=change-me$", example, re.MULTILINE), name


def test_secrets_stay_out_of_git_and_of_the_image() -> None:
    # --no-index: asks the ignore rules themselves, whether or not a .env exists
    check = subprocess.run(["git", "check-ignore", "-q", "--no-index", ".env"], cwd=REPO, check=False)
    assert check.returncode == 0, ".gitignore must list .env"
    dockerignore = (REPO / ".dockerignore").read_text().splitlines()
    assert ".env" in dockerignore and ".venv" in dockerignore


def test_dockerfile_installs_the_cpu_torch_first_then_fnosweep() -> None:
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    assert lines[[i for i, x in enumerate(lines) if x.startswith("FROM")][0]] == "FROM python:3.11-slim"
    torch = next(i for i, x in enumerate(lines) if x.startswith("RUN pip install -c constraints.txt") and "torch" in x)
    package = next(i for i, x in enumerate(lines) if x.startswith("RUN pip install -c constraints.txt ."))
    assert torch < package
    assert "ARG TORCH_VARIANT=cpu" in lines
    assert "USER fnosweep" in lines
