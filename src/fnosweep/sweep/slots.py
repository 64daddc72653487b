"""The driver's trial slots: the trials out on the executor, and what each executor event
does to them (an epoch's decision, a finished or lost run, a timeout).

Part of the driver (the Optuna study's only owner), in a module of its own: the driver's
loop refills the slots and hands them each event; a trial that leaves its slot waits in
`Slots.ended` until the driver tells the study of it (see `Driver._settle`).
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState

from fnosweep.executor import Event, Executor
from fnosweep.history import EpochRecord, RunInfo, metric_value
from fnosweep.pruners import ATTR as PRUNER_NOTE
from fnosweep.space import sample_params, trial_config
from fnosweep.spec import SweepSpec
from fnosweep.store import Store
from fnosweep.sweep.decide import Policy, decide, reportable
from fnosweep.sweep.end import Ended, Running, is_finite, requeue
from fnosweep.sweep.result import INTERRUPTED
from fnosweep.sweep.start import trial_user_attrs


class Slots:
    """The trials a driver runs (by executor handle), and those that ended, not yet told.

    The executor stays the driver's (it makes and shuts it down): each call that submits
    or cancels a run is handed it.
    """

    def __init__(self, spec: SweepSpec, store: Store, study: optuna.Study, storage: optuna.storages.BaseStorage,
                 policy: Policy, stop_requested: threading.Event) -> None:  # fmt: skip
        self.spec = spec
        self.store = store
        self.study = study
        self._storage = storage
        self._policy = policy
        self._stop_requested = stop_requested
        self.running: dict[int, Running] = {}
        self.ended: list[Ended] = []
        """Trials out of their slot, not yet told (see `_finish`)."""
        self.last_event: str | None = None
        """The latest thing that happened to a trial, for the progress display."""

    def remaining(self) -> int:
        """Trials of the budget not yet asked: finished ones (an interrupted attempt is none),
        running and ended ones count."""
        done = [
            t
            for t in self.study.get_trials(
                deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
            )
            if not t.user_attrs.get(INTERRUPTED)
        ]
        return self.spec.study.n_trials - len(done) - len(self.running) - len(self.ended)

    def untold(self) -> list[int]:
        """The trial numbers still RUNNING in the study: in a slot, or ended and not told."""
        return [r.trial.number for r in self.running.values()] + [e.run.trial.number for e in self.ended]

    def start(self, executor: Executor) -> None:
        """Ask the study for a trial and submit it."""
        trial = self.study.ask()
        params = sample_params(trial, self.spec)
        config = trial_config(self.spec, params, trial_number=trial.number)
        self.store.start_trial(self.spec.study.name, trial.number, params=params)
        handle = executor.submit(config)
        self.running[handle] = Running(trial, config, submitted=time.monotonic())
        self.last_event = f"trial {trial.number} started"

    def handle(self, event: Event, executor: Executor) -> None:
        run = self.running.get(event.handle)
        if run is None:
            return
        if event.kind == "item":
            if run.started is None:
                run.started = time.monotonic()
            if isinstance(event.payload, RunInfo):
                run.run = event.payload
                self.store.put_run_info(self.spec.study.name, run.trial.number, event.payload)
            else:
                self._on_epoch(event.handle, run, event.payload, executor)
        elif event.kind == "done":
            self._complete(event.handle, run)
        elif event.kind == "error":
            self._finish(event.handle, run, TrialState.FAIL, reason=event.payload, error=event.detail)
        else:
            self._on_lost(event.handle, run, event.payload, executor)

    def _on_epoch(self, handle: int, run: Running, record: EpochRecord, executor: Executor) -> None:
        number = run.trial.number
        run.epochs.append(record)
        self.store.put_epoch(self.spec.study.name, number, record, attempt=run.config.attempt)
        self.last_event = f"trial {number} epoch {record.epoch}"
        value = reportable(metric_value(record, self.spec.study.metric), self._policy)
        if value is not None:
            with warnings.catch_warnings():  # a retried attempt re-reports its steps; Optuna keeps the first
                warnings.simplefilter("ignore")
                run.trial.report(value, record.epoch)
        optuna_prunes = value is not None and run.trial.should_prune()
        decision = decide(run.history(), self._policy, budget=run.config.training.epochs, optuna_prunes=optuna_prunes,
                          stop_requested=self._stop_requested.is_set(),
                          pruner_note=self._pruner_note(run) if optuna_prunes else None)  # fmt: skip
        if decision.rule_error is not None:
            self.last_event = f"trial {number}: {run.diagnosis_failed('the pruning rules', decision.rule_error)}"
        if decision.action == "prune":
            executor.cancel(handle)
            self._finish(handle, run, TrialState.PRUNED, reason=decision.reason or "pruned")
        elif decision.action == "requeue":
            executor.cancel(handle)
            self._requeue(handle, run, decision.reason or "interrupted")

    def _pruner_note(self, run: Running) -> Any:
        """What the curve pruner stored of its decision (through the storage, not the live trial)."""
        return trial_user_attrs(self._storage, self.study, run.trial.number).get(PRUNER_NOTE)

    def _complete(self, handle: int, run: Running) -> None:
        value = metric_value(run.epochs[-1], self.spec.study.metric) if run.epochs else None
        if not is_finite(value):
            self._finish(handle, run, TrialState.FAIL, reason="the trial ended without a finite objective")
        else:
            self._finish(handle, run, TrialState.COMPLETE, value=value)

    def _on_lost(self, handle: int, run: Running, reason: str, executor: Executor) -> None:
        if run.config.attempt < self.spec.execution.retries:
            del self.running[handle]
            config = trial_config(
                self.spec, run.trial.params, trial_number=run.trial.number, attempt=run.config.attempt + 1
            )
            self.store.start_trial(
                self.spec.study.name, run.trial.number, params=run.trial.params, attempt=config.attempt
            )
            self.running[executor.submit(config)] = Running(run.trial, config, submitted=time.monotonic())
            self.last_event = f"trial {run.trial.number} retried ({reason})"
        else:
            self._finish(handle, run, TrialState.FAIL, reason=f"{reason} (after {run.config.attempt + 1} attempts)")

    def enforce_timeouts(self, executor: Executor) -> None:
        """`trial_timeout_s` counts from a trial's first record (its RunInfo: a worker runs
        it), not from its submission, so time queued for a free worker does not count. A
        trial with no record yet within `trial_timeout_s` of its submission fails too: one
        never scheduled (no worker has its resources) or stuck before training would
        otherwise hold its slot forever."""
        limit = self.spec.execution.trial_timeout_s
        at = time.monotonic()
        for handle, run in list(self.running.items()):
            if run.started is not None and at - run.started > limit:
                reason = f"timed out after {limit:g} s (execution.trial_timeout_s)"
            elif run.started is None and at - run.submitted > limit:
                reason = (
                    f"no record within {limit:g} s of its submission: never scheduled, "
                    "or stuck before training (execution.trial_timeout_s)"
                )
            else:
                continue
            executor.cancel(handle)
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
        """Free the trial's slot now; the driver diagnoses, stores and tells it once its loop
        has started the next trial (the bookkeeping takes tens of milliseconds per trial,
        which an idle worker slot would otherwise wait for)."""
        del self.running[handle]
        self.ended.append(Ended(run, state, value, reason, error))

    def _requeue(self, handle: int, run: Running, reason: str) -> None:
        del self.running[handle]
        requeue(self.spec, self.store, self.study, self._storage, run, reason)

    def interrupt_all(self, executor: Executor | None, reason: str = "interrupted by the user") -> None:
        """Re-queue every trial not told: the ended ones first (not told: a driver that lost
        its lock must not), then the running ones, cancelled."""
        for ended in self.ended:
            requeue(self.spec, self.store, self.study, self._storage, ended.run, reason)
        self.ended.clear()
        for handle, run in list(self.running.items()):
            if executor is not None:
                executor.cancel(handle)
            self._requeue(handle, run, reason)

    def drop_surplus_waiting(self) -> None:
        """Re-queued trials beyond the budget (a crash can leave some): fail them, marked interrupted."""
        if self._stop_requested.is_set() or self.remaining() > 0:
            return
        for _ in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            trial = self.study.ask()
            trial.set_user_attr(INTERRUPTED, True)
            self.study.tell(trial, state=TrialState.FAIL)
