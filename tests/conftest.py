"""Shared fixtures: one local Ray for the whole run."""

from __future__ import annotations

import pytest

from pg import postgres_server  # noqa: F401 (a session fixture: one PostgreSQL server for every test)


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for all tests that need it (about 3.5 s to start), with one logical GPU:
    Ray only counts it, so a test can show fractional GPU trials sharing it on a CPU machine."""
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")
    yield ray
    ray.shutdown()
