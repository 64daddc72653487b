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
import warnings
from typing import Any

from optuna.exceptions import StorageInternalError
from optuna.trial import TrialState

from fnosweep.errors import StoreError
from fnosweep.executor import Event, Executor, make_executor
from fnosweep.history import EpochRecord, RunInfo, metric_value
from fnosweep.pruners import ATTR as PRUNER_NOTE
from fnosweep.space import sample_params, trial_config
from fnosweep.spec import SweepSpec
from fnosweep.store import DATABASE_ERRORS, SQL_ERRORS, DamagedStore, damaged, database_error, redact
from fnosweep.store.values import DriverLock
from fnosweep.sweep.decide import Policy, decide, reportable
from fnosweep.sweep.end import Ended, Running, is_finite, requeue, tell
from fnosweep.sweep.enqueue import enqueue_first
from fnosweep.sweep.publisher import Publisher
from fnosweep.sweep.result import INTERRUPTED, Listener, SweepResult, TrialSummary, progress_of, summaries_of
from fnosweep.sweep.start import (  # noqa: F401 (RECOVERIES, STALE_AFTER_S: re-exported, the driver's vocabulary)
    RECOVERIES,
    STALE_AFTER_S,
    check_resume,
    leave_outage_note,
    load_or_create_study,
    recover_stale,
    take_study,
    trial_user_attrs,
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
        self._running: dict[int, Running] = {}
        self._ended: list[Ended] = []
        """Trials out of their slot, not yet told (see `_finish`)."""
        self._last_event: str | None = None
        self._next_publish = time.monotonic() + PUBLISH_EVERY_S
        self._next_beat = 0.0
        self.notes: list[str] = []
        s = spec.study
        self._policy = Policy(s.metric, s.pruner.type, spec.stability.prune_on, spec.stability.thresholds)
        """What the user should know about this run (e.g. safe spec changes on resume)."""

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
            self._interrupt_all()
        except _LockLost as e:
            # Another driver owns the study now: stop, and re-queue only the trials it has not
            # recovered already (it fails and re-queues the RUNNING trials it finds at its start).
            # Trials that ended but were not told are still RUNNING: re-queued likewise, not told.
            taken_over = "stopped: another driver took over the study"
            for ended in self._ended:
                requeue(self.spec, self.store, self.study, self._storage, ended.run, taken_over)
            self._ended.clear()
            self._interrupt_all(taken_over)
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
            running = [r.trial.number for r in self._running.values()] + [e.run.trial.number for e in self._ended]
            leave_outage_note(self.spec, running)
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
        next_notify = 0.0
        while True:
            self._cancel_if_requested()
            self._beat_if_due()  # a driver displaced while it stalled asks and tells nothing
            while (
                len(self._running) < self.spec.execution.max_concurrent
                and self._remaining() > 0
                and not self.stop_requested.is_set()
            ):
                self._start_trial()
            self._settle()  # after the refill: a freed slot runs its next trial meanwhile
            if not self._running:
                self._drop_surplus_waiting()
                break
            for event in self._executor.wait(POLL_S):
                self._cancel_if_requested()
                self._beat_if_due()  # records buffered over a stall: the new holder may have failed their trials
                self._handle(event)
            self._enforce_timeouts()
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

    def _remaining(self) -> int:
        done = [
            t
            for t in self.study.get_trials(
                deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
            )
            if not t.user_attrs.get(INTERRUPTED)
        ]
        return self.spec.study.n_trials - len(done) - len(self._running) - len(self._ended)

    def _start_trial(self) -> None:
        assert self._executor is not None
        trial = self.study.ask()
        params = sample_params(trial, self.spec)
        config = trial_config(self.spec, params, trial_number=trial.number)
        self.store.start_trial(self.spec.study.name, trial.number, params=params)
        handle = self._executor.submit(config)
        self._running[handle] = Running(trial, config, submitted=time.monotonic())
        self._last_event = f"trial {trial.number} started"

    def _handle(self, event: Event) -> None:
        run = self._running.get(event.handle)
        if run is None:
            return
        if event.kind == "item":
            if run.started is None:
                run.started = time.monotonic()
            if isinstance(event.payload, RunInfo):
                run.run = event.payload
                self.store.put_run_info(self.spec.study.name, run.trial.number, event.payload)
            else:
                self._on_epoch(event.handle, run, event.payload)
        elif event.kind == "done":
            self._complete(event.handle, run)
        elif event.kind == "error":
            self._finish(event.handle, run, TrialState.FAIL, reason=event.payload, error=event.detail)
        else:
            self._on_lost(event.handle, run, event.payload)

    def _on_epoch(self, handle: int, run: Running, record: EpochRecord) -> None:
        number = run.trial.number
        run.epochs.append(record)
        self.store.put_epoch(self.spec.study.name, number, record, attempt=run.config.attempt)
        self._last_event = f"trial {number} epoch {record.epoch}"
        value = reportable(metric_value(record, self.spec.study.metric), self._policy)
        if value is not None:
            with warnings.catch_warnings():  # a retried attempt re-reports its steps; Optuna keeps the first
                warnings.simplefilter("ignore")
                run.trial.report(value, record.epoch)
        optuna_prunes = value is not None and run.trial.should_prune()
        decision = decide(run.history(), self._policy, budget=run.config.training.epochs, optuna_prunes=optuna_prunes,
                          stop_requested=self.stop_requested.is_set(),
                          pruner_note=self._pruner_note(run) if optuna_prunes else None)  # fmt: skip
        if decision.rule_error is not None:
            self._diagnosis_failed(run, "the pruning rules", decision.rule_error)
        if decision.action == "prune":
            self._prune(handle, run, decision.reason or "pruned")
        elif decision.action == "requeue":
            self._executor.cancel(handle)  # type: ignore[union-attr]
            self._requeue(handle, run, decision.reason or "interrupted")

    def _pruner_note(self, run: Running) -> Any:
        """What the curve pruner stored of its decision (through the storage, not the live trial)."""
        return trial_user_attrs(self._storage, self.study, run.trial.number).get(PRUNER_NOTE)

    def _prune(self, handle: int, run: Running, reason: str) -> None:
        self._executor.cancel(handle)  # type: ignore[union-attr]
        self._finish(handle, run, TrialState.PRUNED, reason=reason)

    def _complete(self, handle: int, run: Running) -> None:
        value = metric_value(run.epochs[-1], self.spec.study.metric) if run.epochs else None
        if not is_finite(value):
            self._finish(handle, run, TrialState.FAIL, reason="the trial ended without a finite objective")
        else:
            self._finish(handle, run, TrialState.COMPLETE, value=value)

    def _on_lost(self, handle: int, run: Running, reason: str) -> None:
        if run.config.attempt < self.spec.execution.retries:
            assert self._executor is not None
            del self._running[handle]
            config = trial_config(
                self.spec, run.trial.params, trial_number=run.trial.number, attempt=run.config.attempt + 1
            )
            self.store.start_trial(
                self.spec.study.name, run.trial.number, params=run.trial.params, attempt=config.attempt
            )
            self._running[self._executor.submit(config)] = Running(run.trial, config, submitted=time.monotonic())
            self._last_event = f"trial {run.trial.number} retried ({reason})"
        else:
            self._finish(handle, run, TrialState.FAIL, reason=f"{reason} (after {run.config.attempt + 1} attempts)")

    def _enforce_timeouts(self) -> None:
        """`trial_timeout_s` counts from a trial's first record (its RunInfo: a worker runs
        it), not from its submission, so time queued for a free worker does not count. A
        trial with no record yet within `trial_timeout_s` of its submission fails too: one
        never scheduled (no worker has its resources) or stuck before training would
        otherwise hold its slot forever."""
        limit = self.spec.execution.trial_timeout_s
        at = time.monotonic()
        for handle, run in list(self._running.items()):
            if run.started is not None and at - run.started > limit:
                reason = f"timed out after {limit:g} s (execution.trial_timeout_s)"
            elif run.started is None and at - run.submitted > limit:
                reason = (
                    f"no record within {limit:g} s of its submission: never scheduled, "
                    "or stuck before training (execution.trial_timeout_s)"
                )
            else:
                continue
            self._executor.cancel(handle)  # type: ignore[union-attr]
            self._finish(handle, run, TrialState.FAIL, reason=reason)

    def _finish(
        self,
        handle: int,
        run: Running,
        state: TrialState,
        *,
        value: float | None = None,
        reason: str | None = None,
        error: str | None = None,
    ) -> None:
        """Free the trial's slot now; diagnose, store and tell it in `_settle`, once the loop
        has started the next trial (the bookkeeping takes tens of milliseconds per trial,
        which an idle worker slot would otherwise wait for)."""
        del self._running[handle]
        self._ended.append(Ended(run, state, value, reason, error))

    def _settle(self) -> None:
        while self._ended:
            self._tell(self._ended.pop(0))

    def _tell(self, ended: Ended) -> None:
        self._last_event = tell(self.spec, self.store, self.study, ended, self._publisher)
        if time.monotonic() >= self._next_publish:
            self._publish_sweep()

    def _diagnosis_failed(self, run: Running, what: str, e: Exception) -> None:
        self._last_event = f"trial {run.trial.number}: {run.diagnosis_failed(what, e)}"

    def _requeue(self, handle: int, run: Running, reason: str) -> None:
        del self._running[handle]
        requeue(self.spec, self.store, self.study, self._storage, run, reason)

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

    def _drop_surplus_waiting(self) -> None:
        """Re-queued trials beyond the budget (a crash can leave some): fail them, marked interrupted."""
        if self.stop_requested.is_set() or self._remaining() > 0:
            return
        for _ in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            trial = self.study.ask()
            trial.set_user_attr(INTERRUPTED, True)
            self.study.tell(trial, state=TrialState.FAIL)

    def _interrupt_all(self, reason: str = "interrupted by the user") -> None:
        for handle, run in list(self._running.items()):
            if self._executor is not None:
                self._executor.cancel(handle)
            self._requeue(handle, run, reason)

    # -- reporting -------------------------------------------------------------------

    def _notify(self) -> None:
        running = tuple((r.trial.number, len(r.epochs), r.config.training.epochs) for r in self._running.values())
        self._listener(progress_of(self.study.get_trials(deepcopy=False), self.spec.study.n_trials,
                                   self.spec.study.direction, running, self._last_event))  # fmt: skip

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
