"""Where trials run: the only module that touches Ray.

A trial is a generator of records (`fnosweep.trial.run_trial`). An executor starts
trials and turns their progress into `Event`s for the driver: one per record, then
`done`, `error` (the trial raised) or `lost` (its worker died). Only the trial
config goes in and only records come out, so the same trial function runs in
threads of this process (`InlineExecutor`, for tests and debugging) or as Ray
tasks on a laptop or a cluster (`RayExecutor`).
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import re
import signal
import socket
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from fnosweep.errors import ExecutionError
from fnosweep.spec import ExecutionSpec, TrialConfig

TrialFn = Callable[[TrialConfig], Iterator[Any]]
EventKind = Literal["item", "done", "error", "lost"]


@dataclass(frozen=True)
class Event:
    handle: int
    kind: EventKind
    payload: Any = None
    """The record for `item`; a one-line reason for `error`/`lost`."""
    detail: str | None = None
    """The traceback for `error`."""


class Executor(Protocol):
    def submit(self, config: TrialConfig) -> int: ...
    def wait(self, timeout: float) -> list[Event]: ...
    def cancel(self, handle: int) -> None: ...
    def shutdown(self) -> None: ...


def default_trial_fn() -> TrialFn:
    from fnosweep.trial import run_trial  # torch is imported only where trials run

    return run_trial


def make_executor(execution: ExecutionSpec, trial_fn: TrialFn | None = None) -> Executor:
    if execution.backend == "inline":
        return InlineExecutor(trial_fn or default_trial_fn())
    return RayExecutor(execution, trial_fn)


class InlineExecutor:
    """Trials in threads of this process. Cancelling stops a trial after its current epoch."""

    def __init__(self, trial_fn: TrialFn) -> None:
        self._trial_fn = trial_fn
        self._events: queue.Queue[Event] = queue.Queue()
        self._cancelled: set[int] = set()
        self._ids = itertools.count()
        self._threads: dict[int, threading.Thread] = {}

    def submit(self, config: TrialConfig) -> int:
        handle = next(self._ids)
        thread = threading.Thread(
            target=self._run, args=(handle, config), name=f"trial-{config.trial_number}", daemon=True
        )
        self._threads[handle] = thread
        thread.start()
        return handle

    def _run(self, handle: int, config: TrialConfig) -> None:
        gen = self._trial_fn(config)
        try:
            for item in gen:
                if handle in self._cancelled:
                    return
                self._events.put(Event(handle, "item", item))
        except BaseException as e:  # a trial's failure is data for the driver, not a crash
            self._events.put(Event(handle, "error", _one_line(e), traceback.format_exc()))
            return
        finally:
            close = getattr(gen, "close", None)  # a generator: run its cleanup now, in this thread
            if close is not None:
                close()
        if handle not in self._cancelled:
            self._events.put(Event(handle, "done"))

    def wait(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        try:
            events.append(self._events.get(timeout=timeout))
            while True:
                events.append(self._events.get_nowait())
        except queue.Empty:
            pass
        return [e for e in events if e.handle not in self._cancelled]

    def cancel(self, handle: int) -> None:
        self._cancelled.add(handle)

    def shutdown(self) -> None:
        self._cancelled.update(self._threads)
        for thread in self._threads.values():
            thread.join(timeout=60)


class RayExecutor:
    """Trials as Ray streaming-generator tasks: each epoch record arrives as it is yielded.

    Ray never retries a trial by itself (`max_retries=0`): the driver retries a lost
    trial from epoch 0 with a new attempt number, so every epoch row says which
    attempt wrote it. Dropping a generator does not stop its task: `cancel` calls
    `ray.cancel`.
    """

    def __init__(self, execution: ExecutionSpec, trial_fn: TrialFn | None = None) -> None:
        import ray

        self._ray = ray
        if not ray.is_initialized():
            _init_ray(ray, execution.address)
        res = execution.resources
        options: dict[str, Any] = {"num_cpus": res.cpu, "num_gpus": res.gpu, "max_retries": 0}
        if res.memory_mb:
            options["memory"] = res.memory_mb * 1024 * 1024
        self._task = ray.remote(_stream_trial).options(**options)
        self._trial_fn = trial_fn
        self._ids = itertools.count()
        self._running: dict[int, Any] = {}

    def submit(self, config: TrialConfig) -> int:
        handle = next(self._ids)
        self._running[handle] = self._task.remote(config, self._trial_fn)
        return handle

    def wait(self, timeout: float) -> list[Event]:
        if not self._running:
            return []
        by_gen = {id(g): h for h, g in self._running.items()}
        gens = list(self._running.values())
        ready, _ = self._ray.wait(gens, num_returns=1, timeout=timeout)
        if ready:  # take every other generator that is ready too, without waiting
            ready, _ = self._ray.wait(gens, num_returns=len(gens), timeout=0)
        events: list[Event] = []
        for gen in ready:
            handle = by_gen[id(gen)]
            event = self._next_event(handle, gen)
            if event.kind != "item":
                self._running.pop(handle, None)
            events.append(event)
        return events

    def _next_event(self, handle: int, gen: Any) -> Event:
        from ray.exceptions import RayTaskError, TaskCancelledError, WorkerCrashedError

        try:
            ref = next(gen)
        except StopIteration:
            return Event(handle, "done")
        try:
            return Event(handle, "item", self._ray.get(ref))
        except RayTaskError as e:
            cause = e.cause if e.cause is not None else e
            if isinstance(cause, TaskCancelledError):
                return Event(handle, "lost", "cancelled")
            return Event(handle, "error", _one_line(cause), _strip_ansi(str(e)))
        except TaskCancelledError:
            return Event(handle, "lost", "cancelled")
        except (WorkerCrashedError, self._ray.exceptions.RayError) as e:
            return Event(handle, "lost", f"worker lost: {_one_line(e)}")

    def cancel(self, handle: int) -> None:
        gen = self._running.pop(handle, None)
        if gen is not None:
            self._ray.cancel(gen, force=True)

    def shutdown(self) -> None:
        for handle in list(self._running):
            self.cancel(handle)


def _stream_trial(config: TrialConfig, trial_fn: TrialFn | None) -> Iterator[Any]:
    # Runs in a Ray worker: yields the trial's records one by one as they come.
    yield from (trial_fn or default_trial_fn())(config)


CONNECT_TIMEOUT_S = 10.0
"""How long a Ray address may take to accept a connection: `ray.init` itself retries an
unreachable one for minutes, showing only its own warnings."""


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse a Ray address (`host:port` or `ray://host:port`) where nothing accepts a TCP
    connection within `timeout`; others ("auto", "local", no port) are left to Ray."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number: Ray's own refusal says it
        return
    if not host or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except TimeoutError:
        raise ExecutionError(
            f"cannot reach Ray at {address} (execution.address): no answer within {timeout:g} s"
        ) from None
    except OSError as e:
        raise ExecutionError(
            f"cannot reach Ray at {address} (execution.address): {e.strerror or type(e).__name__}"
        ) from None


def _init_ray(ray: Any, address: str | None) -> None:
    kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
    if address is not None:
        check_reachable(address)
    if address is None:
        # A private local Ray for this command: sized to the machine, no dashboard.
        kwargs.update(address="local", include_dashboard=False, num_cpus=os.cpu_count())
    else:
        kwargs["address"] = address
    # ray.init makes SIGTERM exit the process at once (running trials left RUNNING, Ray's
    # stack dumped); the command's own handler stops the sweep like a Ctrl-C: keep it.
    main = threading.current_thread() is threading.main_thread()
    on_sigterm = signal.getsignal(signal.SIGTERM) if main else None
    try:
        ray.init(**kwargs)
    except Exception as e:  # also Ray's bare Exception when its node times out starting (a loaded machine)
        where = "a local Ray" if address is None else f"Ray at {address}"
        raise ExecutionError(f"cannot start {where}: {_one_line(e)}") from None
    finally:
        if on_sigterm is not None:
            signal.signal(signal.SIGTERM, on_sigterm)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _one_line(e: BaseException) -> str:
    text = _strip_ansi(str(e)).strip().splitlines()
    return f"{type(e).__name__}: {text[-1] if text else ''}".rstrip(": ")


@dataclass(frozen=True)
class ClusterInfo:
    """The Ray cluster a job joined: its live nodes' resources and the totals."""

    nodes: tuple[Mapping[str, float], ...]
    cpus: float
    gpus: float


def join_cluster() -> ClusterInfo:
    """Join the Ray cluster this process runs in (a Jobs API job: Ray sets `RAY_ADDRESS`,
    and the token comes from the node's environment); the executor then uses it."""
    import ray

    try:
        ray.init(address="auto", log_to_driver=False, logging_level=logging.ERROR)
    except Exception as e:  # Ray raises bare Exceptions too (a node that times out starting)
        raise ExecutionError(f"cannot join the Ray cluster: {_one_line(e)}") from None
    total = ray.cluster_resources()
    nodes = tuple(n["Resources"] for n in ray.nodes() if n.get("Alive"))
    return ClusterInfo(nodes, float(total.get("CPU", 0)), float(total.get("GPU", 0)))
