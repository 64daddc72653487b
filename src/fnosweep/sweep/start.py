"""What a driver does before its loop: take the study's lock, open the Optuna study, check
that a resume runs the same trials, and recover the trials a dead driver left RUNNING.

Part of the driver (the Optuna study's only owner), in a module of its own: each step is
a function of the spec, the store and the study, and the lock comes first, so a refused
driver writes nothing.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from fnosweep.errors import DataError, SpecError, StoreError
from fnosweep.space import build_pruner, build_sampler, fingerprint, space_summary
from fnosweep.spec import SweepSpec
from fnosweep.store import Store, engine_kwargs, redact
from fnosweep.sweep.result import INTERRUPTED
from fnosweep.sweep.resume import space_diff, spec_changes

STALE_AFTER_S = 30.0
"""A driver silent this long is dead: its lock no longer blocks a new driver."""
RECOVERIES = "fnosweep:recoveries"
"""User attribute: how many times this trial's parameters were re-queued because their
driver died with them RUNNING (carried to the re-queued trial, so it survives restarts);
past `execution.retries` the trial is FAILed for good."""


def take_study(spec: SweepSpec) -> Store:
    """The store, with this driver holding the study's lock (a new study is recorded in the
    same transaction). Refuses, naming the holder, while another live driver has it."""
    if spec.data.problem == "files":
        check_user_files(spec)
    store = Store.open(spec.study.storage)
    record = {"fingerprint": fingerprint(spec), "space": space_summary(spec), "spec": spec.to_dict()}
    holder = store.acquire_driver(spec.study.name, stale_after_s=STALE_AFTER_S, record=record)
    if holder is not None:
        store.close()
        raise StoreError(
            f"study {spec.study.name!r} is being run by another driver (host {holder.host}, pid {holder.pid}, "
            f"since {holder.since:%Y-%m-%d %H:%M:%S} UTC); stop it, or wait {STALE_AFTER_S:.0f} s after it died"
        )
    return store


def check_user_files(spec: SweepSpec) -> None:
    """A user's own data files, checked where the sweep runs and before anything is
    written (the spec parser leaves them here: a spec submitted to a cluster names files
    that may exist only there)."""
    from fnosweep.data import check_data

    try:
        check_data(spec.data)
    except DataError as e:
        field = getattr(e, "field", None) or "root"
        raise SpecError(f"{spec.source}: data -> {field}: {e}") from None


def load_or_create_study(spec: SweepSpec) -> tuple[optuna.Study, optuna.storages.BaseStorage]:
    """The Optuna study, created or loaded, with the spec's sampler and pruner; and its
    storage, for what only Optuna's storage API does (`set_trial_attr`, `trial_state`)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = optuna.storages.RDBStorage(spec.study.storage, engine_kwargs=engine_kwargs(spec.study.storage))
        study = optuna.create_study(
            study_name=spec.study.name,
            storage=storage,
            direction=spec.study.direction,
            sampler=build_sampler(spec),
            pruner=build_pruner(spec),
            load_if_exists=True,
        )
    except Exception as e:  # Optuna raises many kinds; none is expected here
        raise StoreError(f"cannot open study {spec.study.name!r} at {redact(spec.study.storage)}: {e}") from None
    return study, storage


def check_resume(spec: SweepSpec, store: Store, study: optuna.Study) -> list[str]:
    """Refuse a resume that would change what a trial is; return what else changed (notes)."""
    name = spec.study.name
    new_fp, new_space, new_spec = fingerprint(spec), space_summary(spec), spec.to_dict()
    known, old_spec = store.study_meta(name), store.study_spec(name)
    if known is not None and known[0] != new_fp:
        changes = "; ".join(space_diff(known[1], new_space))
        raise SpecError(
            f"{spec.source}: the search space of study {name!r} changed ({changes}); "
            "restore it to resume, or start a new study (--set study.name=...)"
        )
    notes = []
    if old_spec is not None:
        defining, safe = spec_changes(old_spec, new_spec)
        if defining:
            raise SpecError(
                f"{spec.source}: study {name!r} ran with a different trial definition ({'; '.join(defining)}); "
                "restore it to resume, or start a new study (--set study.name=...)"
            )
        notes = [f"changed since the last run: {line}" for line in safe]
    store.put_study(name, fingerprint=new_fp, space=new_space, spec=new_spec)
    study.set_user_attr("fnosweep:fingerprint", new_fp)
    return notes


def recover_stale(spec: SweepSpec, store: Store, study: optuna.Study, storage: optuna.storages.BaseStorage) -> None:
    """Fail the RUNNING trials a dead driver left behind and run their params again,
    at most `execution.retries` times per parameters: then the trial FAILs for good."""
    retries = spec.execution.retries
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # a trial asked from the queue but killed before suggesting holds its params here only
        params = dict(t.params) or dict(t.system_attrs.get("fixed_params", {}))
        count = int(t.user_attrs.get(RECOVERIES, 0)) + 1
        stopped = "interrupted: its driver stopped before it finished"
        if count > retries:
            reason = f"{stopped}, {count} times; not re-queued again (execution.retries = {retries})"
        else:
            reason = f"{stopped}; parameters re-queued ({count} of at most {retries})"
            set_trial_attr(storage, study, t.number, INTERRUPTED, True)
        set_trial_attr(storage, study, t.number, "reason", reason)
        store.finish_trial(spec.study.name, t.number, state="FAIL", reason=reason)
        study.tell(t.number, state=TrialState.FAIL)
        if count <= retries:
            study.enqueue_trial(params, user_attrs={RECOVERIES: count}, skip_if_exists=False)



def _trial_id(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int) -> int:
    return storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(study.study_name), number)


def set_trial_attr(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int, key: str,
                   value: object) -> None:  # fmt: skip
    """A user attribute of a trial that no live `optuna.Trial` holds (a dead driver's)."""
    storage.set_trial_user_attr(_trial_id(storage, study, number), key, value)


def trial_state(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int) -> TrialState:
    """A trial's state as the database holds it now (another driver may have changed it)."""
    return storage.get_trial(_trial_id(storage, study, number)).state
