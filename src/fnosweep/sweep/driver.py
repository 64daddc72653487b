"""The driver: the only owner of the Optuna study, and its only writer.

ask → trial config → executor → one record per epoch → store, report, prune → tell.
Optuna's pruners and samplers keep their exact semantics (PRUNED is PRUNED, the
intermediate values are in the study); workers need no database access.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from optuna.exceptions import StorageInternalError

from fnosweep.errors import StoreError
from fnosweep.executor import Event, Executor, make_executor
from fnosweep.spec import SweepSpec
from fnosweep.store import DATABASE_ERRORS, SQL_ERRORS, DamagedStore, damaged, database_error, redact
from fnosweep.store.values import DriverLock
from fnosweep.sweep.decide import Policy
from fnosweep.sweep.end import Ended, tell
from fnosweep.sweep.enqueue import enqueue_first
from fnosweep.sweep.publisher import Publisher
from fnosweep.sweep.result import (  # noqa: F401 (INTERRUPTED: re-exported, the driver's vocabulary)
    INTERRUPTED,
    Listener,
    SweepResult,
    TrialSummary,
    progress_of,
    summaries_of,
)
from fnosweep.sweep.slots import Slots
from fnosweep.sweep.start import (  # noqa: F401 (RECOVERIES, STALE_AFTER_S: re-exported, the driver's vocabulary)
    RECOVERIES,
    STALE_AFTER_S,
    check_resume,
    leave_outage_note,
    load_or_create_study,
    recover_stale,
    take_study,
)

HEARTBEAT_S = 5.0
"""How often the driver proves it is alive in the database."""
POLL_S = 0.5
NOTIFY_S = 0.2
"""Least time between two progress snapshots (each reads the study's trials)."""
PUBLISH_EVERY_S = 60.0
"""Least time between two refreshes, during a sweep, of the dashboard's sweep note and
figures; a sweep's end always refreshes them. Each refresh reads every epoch of the study
(seconds at 200 000 epochs) and holds the loop, so freed slots wait."""
PUBLISH_SHARE = 0.05
"""Longest share of the driver's time the refreshes may take: after one that took d
seconds, the next waits at least d / PUBLISH_SHARE."""

_LOST_DATABASE: tuple[type[Exception], ...] = (*DATABASE_ERRORS, StorageInternalError)
_LIBRARY_DATABASE_ERRORS: tuple[type[Exception], ...] = (*SQL_ERRORS, StorageInternalError)
"""What Optuna's storage raises when the database fails under it (not fnosweep's own StoreError)."""

log = logging.getLogger(__name__)


class _LockLost(Exception):
    """The heartbeat found the driver lock held by another driver (or by none)."""

    def __init__(self, holder: DriverLock | None) -> None:
        super().__init__(holder)
        self.holder = holder


class Driver:
    """Runs one sweep spec to its trial budget, resuming what the study already holds."""

    def __init__(self, spec: SweepSpec, *, executor: Executor | None = None, listener: Listener | None = None,
                 publisher: Publisher | None = None) -> None:  # fmt: skip
        self.spec = spec
        self._publisher = publisher
        self._executor = executor
        self._listener = listener or (lambda _p: None)
        self.stop_requested = threading.Event()
        """Set it (first Ctrl-C) to ask no new trial and stop running ones after their next epoch."""
        self.cancel_requested = threading.Event()
        """Set it (SIGTERM) to stop at once as a second Ctrl-C does, at the loop's next safe point
        (not inside a database call, as an asynchronous KeyboardInterrupt may be)."""
        self._next_publish = time.monotonic() + PUBLISH_EVERY_S
        self._next_beat = 0.0
        self.notes: list[str] = []
        """What the user should know about this run (e.g. safe spec changes on resume)."""
        s = spec.study
        self._policy = Policy(s.metric, s.pruner.type, spec.stability.prune_on, spec.stability.thresholds)

    # -- setup -----------------------------------------------------------------------

    def _open(self) -> None:
        """Lock, study, spec check (see `start`): a refused driver writes nothing."""
        self.store = take_study(self.spec)
        try:
            self.study, self._storage = load_or_create_study(self.spec)
            self.notes.extend(check_resume(self.spec, self.store, self.study))
            enqueue_first(self.spec, self.study)  # study.enqueue: only into a new study
        except _LIBRARY_DATABASE_ERRORS as e:  # e.g. a full disk under Optuna's writes
            with contextlib.suppress(StoreError):
                self.store.release_driver(self.spec.study.name)
            name, where = self.spec.study.name, redact(self.spec.study.storage)
            raise StoreError(f"cannot open study {name!r} at {where}: {database_error(e)}") from None
        except BaseException:
            with contextlib.suppress(StoreError):
                self.store.release_driver(self.spec.study.name)
            raise
        self._slots = Slots(self.spec, self.store, self.study, self._storage, self._policy, self.stop_requested)

    # -- the loop --------------------------------------------------------------------

    def run(self) -> SweepResult:
        if self._executor is None and self.spec.execution.address is not None:
            self._executor = make_executor(self.spec.execution)  # a cluster that cannot be reached: nothing written
        try:
            self._open()
        except BaseException:
            if self._executor is not None:
                self._executor.shutdown()
            raise
        interrupted = False
        try:
            recover_stale(self.spec, self.store, self.study, self._storage)
            self._executor = self._executor or make_executor(self.spec.execution)
            self._loop()
            self._notify()  # the display's last frame shows the finished budget
            self._publish_sweep()
        except KeyboardInterrupt:
            interrupted = True
            self._settle()  # trials that ended are results: told before the others are stopped
            self._slots.interrupt_all(self._executor)
        except _LockLost as e:
            # Another driver owns the study now: stop, and re-queue only the trials it has not
            # recovered already (it fails and re-queues the RUNNING trials it finds at its start).
            # Trials that ended but were not told are still RUNNING: re-queued likewise, not told.
            self._slots.interrupt_all(self._executor, "stopped: another driver took over the study")
            raise StoreError(
                f"this driver lost the lock of study {self.spec.study.name!r} ({_holder(e.holder)}), "
                "so it stopped and re-queued its running trials"
            ) from None
        except _LOST_DATABASE as e:
            # The database is gone (the store already retried): stop the workers and leave. The
            # trials still RUNNING in the study are failed and re-queued by the next driver.
            # A damaged one will not come back: say so, not "run the same command".
            broken = e if isinstance(e, DamagedStore) else damaged(self.spec.study.storage, e)
            if broken is not None:
                raise broken from None
            # trials still RUNNING in the study are failed and re-queued by the next driver,
            # which the note tells not to count them as recovered (an outage is not their fault).
            leave_outage_note(self.spec, self._slots.untold())
            raise StoreError(
                f"lost the study database, so the sweep stopped: {database_error(e).rstrip('. ')}. "
                f"When it is back, run the same command: study {self.spec.study.name!r} resumes"
            ) from e
        finally:
            if self._executor is not None:
                self._executor.shutdown()
            with contextlib.suppress(StoreError):  # a dead driver's lock goes stale by itself
                self.store.release_driver(self.spec.study.name)
        interrupted = interrupted or self.stop_requested.is_set()
        return SweepResult(
            self.spec.study.name,
            self.spec.study.storage,
            self.spec.study.direction,
            self.spec.study.metric,
            tuple(self._summaries()),
            interrupted,
            tuple(self.notes),
        )

    def _loop(self) -> None:
        assert self._executor is not None
        slots = self._slots
        next_notify = 0.0
        while True:
            self._cancel_if_requested()
            self._beat_if_due()  # a driver displaced while it stalled asks and tells nothing
            while (
                len(slots.running) < self.spec.execution.max_concurrent
                and slots.remaining() > 0
                and not self.stop_requested.is_set()
            ):
                self._start_trial()
            self._settle()  # after the refill: a freed slot runs its next trial meanwhile
            if not slots.running:
                slots.drop_surplus_waiting()
                break
            for event in self._executor.wait(POLL_S):
                self._cancel_if_requested()
                self._beat_if_due()  # records buffered over a stall: the new holder may have failed their trials
                self._handle(event)
            slots.enforce_timeouts(self._executor)
            self._beat_if_due()
            if time.monotonic() >= next_notify:  # a live display needs a few frames a second, not one per record
                self._notify()
                next_notify = time.monotonic() + NOTIFY_S

    def _cancel_if_requested(self) -> None:
        if self.cancel_requested.is_set():
            raise KeyboardInterrupt  # handled as a second Ctrl-C: running trials re-queued

    def _beat_if_due(self) -> None:
        """Heartbeat every HEARTBEAT_S; a lock found held by another driver stops this one
        (`_LockLost`) before it writes anything more to the study."""
        if time.monotonic() < self._next_beat:
            return
        if not self.store.heartbeat(self.spec.study.name):
            raise _LockLost(self.store.driver_lock(self.spec.study.name))
        self._next_beat = time.monotonic() + HEARTBEAT_S

    def _start_trial(self) -> None:
        """Ask and submit one trial (a method of the driver's: benchmarks/orchestration.py times it)."""
        assert self._executor is not None
        self._slots.start(self._executor)

    def _handle(self, event: Event) -> None:
        """One executor event to its trial's slot (timed by benchmarks/orchestration.py too)."""
        assert self._executor is not None
        self._slots.handle(event, self._executor)

    def _settle(self) -> None:
        """Tell the study of the trials that ended (see `Slots.ended`)."""
        while self._slots.ended:
            self._tell(self._slots.ended.pop(0))

    def _tell(self, ended: Ended) -> None:
        self._slots.last_event = tell(self.spec, self.store, self.study, ended, self._publisher)
        if time.monotonic() >= self._next_publish:
            self._publish_sweep()

    def _publish_sweep(self) -> None:
        if self._publisher is None:
            return
        started = time.monotonic()
        try:
            self._publisher.sweep(self.study, self.store, self.spec.study.name)
        except _LOST_DATABASE:
            raise
        except Exception as e:  # a bug in the sweep's diagnosis or figures must not stop the sweep
            log.warning("study %s: publishing the sweep note failed: %s", self.spec.study.name, e, exc_info=e)
        finally:
            took = time.monotonic() - started
            self._next_publish = time.monotonic() + max(PUBLISH_EVERY_S, took / PUBLISH_SHARE)

    # -- reporting -------------------------------------------------------------------

    def _notify(self) -> None:
        slots = self._slots
        running = tuple((r.trial.number, len(r.epochs), r.config.training.epochs) for r in slots.running.values())
        self._listener(progress_of(self.study.get_trials(deepcopy=False), self.spec.study.n_trials,
                                   self.spec.study.direction, running, slots.last_event))  # fmt: skip

    def _summaries(self) -> list[TrialSummary]:
        name = self.spec.study.name
        counts = {n: len(e) for n, e in self.store.epochs(name).items()}
        return summaries_of(self.study.get_trials(deepcopy=False), self.store.trials(name), counts)


def run_sweep(spec: SweepSpec, *, executor: Executor | None = None, listener: Listener | None = None,
              publisher: Publisher | None = None) -> SweepResult:  # fmt: skip
    """Run (or resume) a sweep to its trial budget."""
    return Driver(spec, executor=executor, listener=listener, publisher=publisher).run()


def _holder(lock: DriverLock | None) -> str:
    if lock is None:
        return "nobody holds it now"
    return f"now held by host {lock.host}, pid {lock.pid}, since {lock.since:%Y-%m-%d %H:%M:%S} UTC"


logging.getLogger("optuna").setLevel(logging.WARNING)
