"""What a driver does when a trial's run ends: diagnose it, store the outcome, publish it
(see `publisher`) and tell the study; or, on a clean stop, fail it and queue its params again.

Part of the driver (the Optuna study's only owner), in a module of its own: each step is
a function of the spec, the store, the study and the trial's run.
"""

from __future__ import annotations

import logging
import math
import traceback
from dataclasses import dataclass, field

import optuna
from optuna.trial import TrialState

from fnosweep.diagnose import diagnose
from fnosweep.history import EpochRecord, History, RunInfo, metric_value
from fnosweep.spec import SweepSpec, TrialConfig
from fnosweep.store import Store
from fnosweep.store.values import INTERRUPTED_STATE, REQUEUED
from fnosweep.sweep.publisher import Publisher
from fnosweep.sweep.result import INTERRUPTED
from fnosweep.sweep.start import RECOVERIES, shielded, trial_state

log = logging.getLogger("fnosweep.sweep.driver")


@dataclass
class Running:
    """A trial the executor runs, and what the driver has of it so far."""

    trial: optuna.Trial
    config: TrialConfig
    submitted: float
    started: float | None = None
    """When its first record came: the executor runs it (a Ray task may queue before)."""
    epochs: list[EpochRecord] = field(default_factory=list)
    run: RunInfo | None = None
    diagnosis_error: tuple[str, str] | None = None
    """(one line, traceback) of the first exception a diagnosis rule raised on this trial."""

    def history(self) -> History:
        return History(run=self.run or RunInfo(), epochs=tuple(self.epochs))

    def diagnosis_failed(self, what: str, e: Exception) -> str:
        """Keep the first error a diagnosis rule raised on this trial (logged, then its
        reason); returns the line to show."""
        if self.diagnosis_error is not None:
            return self.diagnosis_error[0]
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        line = f"{what} raised {type(e).__name__}: {message}".rstrip(": ") + "; verdict left empty"
        log.warning("trial %d: %s", self.trial.number, line, exc_info=e)
        self.diagnosis_error = (line, "".join(traceback.format_exception(e)))
        return line


@dataclass(frozen=True)
class Ended:
    """A trial whose run ended, waiting for the driver to tell the study."""

    run: Running
    state: TrialState
    value: float | None
    reason: str | None
    error: str | None


def tell(spec: SweepSpec, store: Store, study: optuna.Study, ended: Ended, publisher: Publisher | None = None) -> str:
    """Diagnose the trial, store the outcome, then tell the study; returns the event line.

    The store is written first: if the driver dies between the two, the Optuna trial
    is still RUNNING, so the next driver fails it, overwrites this row and re-runs it.
    """
    run, state, value, reason, error = ended.run, ended.state, ended.value, ended.reason, ended.error
    s = spec.study
    diagnosis, history = None, run.history()
    try:  # a bug in a rule must not leave the trial RUNNING: it is told below
        if run.epochs:
            diagnosis = diagnose(history, spec.stability.thresholds)
    except Exception as e:
        diagnosis = None
        run.diagnosis_failed("the diagnosis", e)
    if run.diagnosis_error is not None:  # the verdict stays empty; the reason says why
        line, trace = run.diagnosis_error
        reason = f"{reason}; {line}" if reason else line
        error = error or trace
    verdict = diagnosis.verdict if diagnosis else None
    finite = [v for v in (metric_value(e, s.metric) for e in run.epochs) if is_finite(v)]
    store.finish_trial(
        s.name, run.trial.number, state=state.name,
        value=value if value is not None else (finite[-1] if finite else None),
        verdict=verdict, diagnosis=diagnosis.to_json() if diagnosis else None, reason=reason, error=error,
    )  # fmt: skip
    if reason:
        run.trial.set_user_attr("reason", reason[:500])
    if diagnosis is not None and publisher is not None:  # before the tell: a told trial's attributes freeze
        try:
            publisher.trial(study, run.trial, history, diagnosis)
        except Exception as e:  # a bug in a view must not leave the trial RUNNING
            log.warning("trial %d: publishing it failed: %s", run.trial.number, e, exc_info=e)
    study.tell(run.trial, value if state == TrialState.COMPLETE else None, state=state)
    return f"trial {run.trial.number} {state.name.lower()}" + (f": {reason}" if reason else "")


def is_finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def requeue(spec: SweepSpec, store: Store, study: optuna.Study, storage: optuna.storages.BaseStorage, run: Running,
            reason: str) -> None:  # fmt: skip
    """FAIL the trial, marked interrupted, and queue its params again (a clean stop).

    A trial no longer RUNNING was finished by another driver (one that took over a
    stale lock fails and re-queues what it finds RUNNING): it is left as that one left it."""
    if trial_state(storage, study, run.trial.number) != TrialState.RUNNING:
        return
    with shielded():
        run.trial.set_user_attr(INTERRUPTED, True)
        study.tell(run.trial, state=TrialState.FAIL)
        store.finish_trial(spec.study.name, run.trial.number, state=INTERRUPTED_STATE, reason=f"{reason}{REQUEUED}")
        recoveries = run.trial.user_attrs.get(RECOVERIES)  # the lineage keeps its count
        attrs = None if recoveries is None else {RECOVERIES: recoveries}
        study.enqueue_trial(run.trial.params, user_attrs=attrs, skip_if_exists=False)
