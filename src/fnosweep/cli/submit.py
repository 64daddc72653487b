"""`fnosweep submit`: the thin command over `fnosweep.cluster.jobs` (the Ray Jobs API client)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fnosweep.errors import ExecutionError


def submit(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (YAML).", show_default=False)],
    address: Annotated[
        str,
        typer.Option(
            "--address",
            envvar="RAY_API_SERVER_ADDRESS",
            help="The Ray dashboard / Jobs API of the cluster, e.g. http://127.0.0.1:8265.",
            show_default=False,
        ),
    ],
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job's log; exit with its status.")] = False,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a spec field: --set training.epochs=3 (repeatable).")
    ] = None,
) -> None:
    """Send a sweep to a Ray cluster (Ray Jobs API): the same driver runs there, on the spec's study."""
    from fnosweep.cluster.jobs import (
        cluster_warnings,
        connect,
        find_token,
        first_line,
        follow,
        follow_commands,
        log_tail,
        normalize_address,
        probe,
        submit_spec,
    )
    from fnosweep.space import load_spec

    s = load_spec(spec, set_ or [])
    url = normalize_address(address)
    token = find_token()
    headers = {"Authorization": f"Bearer {token[0]}"} if token else {}
    info = probe(url, headers)
    for warning in cluster_warnings(s, info.nodes):
        typer.echo(f"warning: {warning}", err=True)
    job = submit_spec(connect(url, headers), s, address=url, authenticated=token is not None)
    count = len(info.nodes) if info.nodes else 0
    nodes = f"{count} node{'s' if count > 1 else ''}" if count else "nodes unknown"
    typer.echo(f"submitted {job.job_id}: study {s.study.name!r}, {s.study.n_trials} trials")
    typer.echo(f"cluster:   {url} (Ray {info.ray_version}, {nodes})")
    if not wait:
        for line in follow_commands(job):
            typer.echo(line)
        return
    client = connect(url, headers)
    try:
        status, message, logs = follow(client, job.job_id)
    except KeyboardInterrupt:
        typer.echo(f"\nstopped following; job {job.job_id} goes on running", err=True)
        for line in follow_commands(job):
            typer.echo(line, err=True)
        raise typer.Exit(130) from None
    except (ConnectionError, RuntimeError, OSError) as e:
        raise ExecutionError(
            f"lost the Jobs API at {url} while following {job.job_id} ({first_line(e)}); the job may still run"
        ) from None
    if status != "SUCCEEDED":
        typer.echo(f"--- last lines of the log of {job.job_id} ---", err=True)
        typer.echo(log_tail(logs or message), err=True)
        raise ExecutionError(f"job {job.job_id} {status}: {first_line(Exception(message or status))}")
    typer.echo(f"job {job.job_id} SUCCEEDED")
