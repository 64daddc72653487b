"""The entrypoint of a `fnosweep submit` job: `python -m fnosweep.cluster.entry spec.yaml`.

It runs on the cluster's head node, in the job's temporary working directory (which
holds only the spec), and drives the sweep exactly as `fnosweep run` does, with Ray
already joined (`ray.init(address="auto")`: the Jobs API sets `RAY_ADDRESS`, and the
token comes from the node's environment). Its output is the job's log, so progress
is printed as plain lines, one per event, not as a live panel.

Relative paths in the spec would otherwise land in that temporary directory and be
deleted with the job: the driver works in `$FNOSWEEP_HOME` (the image sets
`/srv/fnosweep`, a volume on the head; default `~/fnosweep`), so a relative SQLite
study lives there, and `data.root` is made absolute against it, so every worker
generates and reuses its data in the same place on its own disk.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fnosweep.errors import FnosweepError

if TYPE_CHECKING:
    from fnosweep.spec import SweepSpec
    from fnosweep.sweep.result import Progress

EXIT_INTERRUPTED = 130


def cluster_home(env: Mapping[str, str] = os.environ) -> Path:
    """Where the driver works on the cluster: `$FNOSWEEP_HOME`, else `~/fnosweep`."""
    return Path(env.get("FNOSWEEP_HOME") or Path.home() / "fnosweep")


def anchor(spec: SweepSpec, home: Path) -> SweepSpec:
    """The spec with a relative `data.root` made absolute against `home`."""
    root = Path(spec.data.root)
    if root.is_absolute():
        return spec
    return dataclasses.replace(spec, data=dataclasses.replace(spec.data, root=str(home / root)))


def _on_sigterm(_sig: int, _frame: Any) -> None:
    # `ray job stop` sends SIGTERM, then SIGKILL a few seconds later: stop like a Ctrl-C,
    # so running trials are re-queued and the driver lock is released.
    raise KeyboardInterrupt


def _printer(total: int) -> Callable[[Progress], None]:
    last: list[str | None] = [None]

    def listen(p: Progress) -> None:
        if p.last_event and p.last_event != last[0]:
            last[0] = p.last_event
            done = p.complete + p.pruned + p.failed
            print(f"[{done}/{total}] {p.last_event}", flush=True)

    return listen


def run(spec_path: Path) -> int:
    from fnosweep.space import load_spec
    from fnosweep.store import redact

    spec_path = spec_path.resolve()  # before the chdir below
    home = cluster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.chdir(home)
    spec = anchor(load_spec(spec_path), home)

    from fnosweep.cluster.jobs import unplaceable
    from fnosweep.executor import join_cluster
    from fnosweep.sweep.driver import run_sweep
    from fnosweep.view.dashboard import DashboardPublisher

    cluster = join_cluster()
    signal.signal(signal.SIGTERM, _on_sigterm)  # ray.init replaced it with an immediate exit
    print(
        f"fnosweep: study {spec.study.name!r} at {redact(spec.study.storage)} (in {home}); "
        f"{len(cluster.nodes)} node(s), {cluster.cpus:g} CPUs, {cluster.gpus:g} GPUs; data in {spec.data.root}",
        flush=True,
    )
    missing = unplaceable(spec.execution.resources, cluster.nodes)
    if missing:
        print(f"warning: no node has {missing} for one trial; trials wait until one joins", flush=True)
    result = run_sweep(spec, listener=_printer(spec.study.n_trials),
                       publisher=DashboardPublisher(spec.study.metric, spec.study.direction))  # fmt: skip
    states = Counter(t.state.lower() for t in result.trials)
    print(f"{len(result.trials)} trials: {', '.join(f'{n} {s}' for s, n in sorted(states.items()))}", flush=True)
    for t in result.best(5):
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(t.params.items()))
        print(f"  trial {t.number}: {spec.study.metric} = {_fmt(t.value)} ({t.verdict or '-'}) {params}", flush=True)
    print(
        f"Study {spec.study.name!r} lives in {redact(spec.study.storage)}; "
        f"next: fnosweep diagnose <storage> --study {spec.study.name}",
        flush=True,
    )
    return EXIT_INTERRUPTED if result.interrupted else 0


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m fnosweep.cluster.entry SPEC", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run(Path(args[0]))
    except FnosweepError as e:
        print(f"fnosweep: {e}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
