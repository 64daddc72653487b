"""What a driver does before its loop: take the study's lock, open the Optuna study, check
that a resume runs the same trials, and recover the trials a dead driver left RUNNING.

Part of the driver (the Optuna study's only owner), in a module of its own: each step is
a function of the spec, the store and the study, and the lock comes first, so a refused
driver writes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from fnosweep.errors import DataError, SpecError, StoreError
from fnosweep.space import build_pruner, build_sampler, fingerprint, space_summary
from fnosweep.spec import SweepSpec
from fnosweep.store import CREATE_TRIES, Store, database_error, engine_kwargs, redact
from fnosweep.store.values import INTERRUPTED_STATE, REQUEUED
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
    else:
        check_data_root(spec)
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


def check_data_root(spec: SweepSpec) -> None:
    """Trials generate their data (and take its lock) in `data.root`: that it can be
    written is checked here, before anything is written or asked, so an unwritable root
    fails the command once rather than every trial (each FAIL spending the budget). Nothing
    is created: the nearest existing directory on the way to the root takes a probe file.
    On a remote cluster (`execution.address`) the workers' disks are not this machine's."""
    if spec.execution.address is not None:
        return
    root = Path(spec.data.root)
    nearest = next(p for p in (root, *root.parents) if p.exists())  # a relative root ends at "."
    if not nearest.is_dir():
        raise SpecError(f"{spec.source}: data -> root: {nearest} is a file, but {root} must be a directory")
    try:
        with tempfile.TemporaryFile(dir=nearest):
            pass
    except OSError as e:
        raise SpecError(f"{spec.source}: data -> root: cannot write in {nearest}: {e.strerror or e}") from None


def load_or_create_study(spec: SweepSpec) -> tuple[optuna.Study, optuna.storages.BaseStorage]:
    """The Optuna study, created or loaded, with the spec's sampler and pruner; and its
    storage, for what only Optuna's storage API does (`set_trial_attr`, `trial_state`). A
    seeded sampler of a resumed study is seeded from its seed and the study's trial count
    (`resumed_seed`): reseeded with the seed alone it would replay its sequence."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = _rdb_storage(spec.study.storage)
        study = optuna.create_study(
            study_name=spec.study.name,
            storage=storage,
            direction=spec.study.direction,
            sampler=build_sampler(spec),
            pruner=build_pruner(spec),
            load_if_exists=True,
        )
        sampler = spec.study.sampler
        if sampler.seed is not None and sampler.type not in CONTINUING_SAMPLERS:
            seed = resumed_seed(sampler.seed, len(study.get_trials(deepcopy=False)))
            if seed != sampler.seed:
                resumed = dataclasses.replace(spec.study, sampler=dataclasses.replace(sampler, seed=seed))
                study.sampler = build_sampler(dataclasses.replace(spec, study=resumed))
    except Exception as e:  # Optuna raises many kinds; none is expected here
        raise StoreError(
            f"cannot open study {spec.study.name!r} at {redact(spec.study.storage)}: {database_error(e)}"
        ) from None
    return study, storage


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's storage, its tables created where missing. Drivers of two studies opening a
    fresh database at once race to create them; the loser's second look finds them."""
    for tries_left in reversed(range(CREATE_TRIES)):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs(url))
        except Exception:  # Optuna wraps the race's "already exists" in several kinds
            if not tries_left:
                raise
            time.sleep(0.1 * (CREATE_TRIES - tries_left))  # the winner commits its version stamp meanwhile
    raise AssertionError("unreachable")


CONTINUING_SAMPLERS = ("qmc",)
"""Samplers that continue their sequence from the study's state (QMC counts its samples in
the study): their seed (QMC's scrambling) must stay the spec's across resumes."""


def resumed_seed(seed: int, trials: int) -> int:
    """The seed of a study's sampler when the study holds `trials` trials: the spec's seed
    for a new study, else one derived from both (reproducible: the same study state gives
    the same seed; a different one for each resume, so no sequence is replayed)."""
    if trials == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**64, trials]).generate_state(1)[0])


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
    at most `execution.retries` times per parameters: then the trial FAILs for good.
    Trials a driver of this host left when it lost the database (`leave_outage_note`) are
    re-queued without counting: an outage is not their parameters' fault."""
    retries = spec.execution.retries
    outage = take_outage_note(spec)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # a trial asked from the queue but killed before suggesting holds its params here only
        params = dict(t.params) or dict(t.system_attrs.get("fixed_params", {}))
        count = int(t.user_attrs.get(RECOVERIES, 0)) + (t.number not in outage)
        stopped = "interrupted: its driver stopped before it finished"
        state = "FAIL"
        if count > retries:
            reason = f"{stopped}, {count} times; not re-queued again (execution.retries = {retries})"
        else:
            reason, state = f"{stopped}{REQUEUED} ({count} of at most {retries})", INTERRUPTED_STATE
            if t.number in outage:
                reason = f"interrupted: its driver lost the study database{REQUEUED} (not counted: not its fault)"
            set_trial_attr(storage, study, t.number, INTERRUPTED, True)
        with shielded():  # failed, then queued again: both or (before) neither
            set_trial_attr(storage, study, t.number, "reason", reason)
            store.finish_trial(spec.study.name, t.number, state=state, reason=reason)
            study.tell(t.number, state=TrialState.FAIL)
            if count <= retries:
                study.enqueue_trial(params, user_attrs={RECOVERIES: count} if count else None, skip_if_exists=False)


def _outage_note(spec: SweepSpec) -> Path:
    key = hashlib.sha256(f"{spec.study.storage}\n{spec.study.name}".encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / "fnosweep" / f"outage-{key}.json"


def leave_outage_note(spec: SweepSpec, numbers: Iterable[int]) -> None:
    """A driver that lost its database cannot re-queue its running trials: it names them in
    a file of this host, so that the next driver here re-queues them without counting a
    recovery. Best effort: without the note, they count as after a crash."""
    path = _outage_note(spec)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(sorted(numbers)))


def take_outage_note(spec: SweepSpec) -> set[int]:
    """The trial numbers of `leave_outage_note`, removing the note (the lock holder's)."""
    path = _outage_note(spec)
    try:
        numbers = json.loads(path.read_text())
        path.unlink()
    except (OSError, ValueError):
        return set()
    return {n for n in numbers if isinstance(n, int)} if isinstance(numbers, list) else set()


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block is done, then deliver them: a trial failed
    but not yet queued again would lose its re-run (a second Ctrl-C lands anywhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda sig, _frame: held.append(sig)) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
        for sig in held:
            signal.raise_signal(sig)


def _trial_id(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int) -> int:
    return storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(study.study_name), number)


def set_trial_attr(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int, key: str,
                   value: object) -> None:  # fmt: skip
    """A user attribute of a trial that no live `optuna.Trial` holds (a dead driver's)."""
    storage.set_trial_user_attr(_trial_id(storage, study, number), key, value)


def trial_state(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int) -> TrialState:
    """A trial's state as the database holds it now (another driver may have changed it)."""
    return storage.get_trial(_trial_id(storage, study, number)).state


def trial_user_attrs(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int) -> dict[str, object]:
    """A running trial's user attributes as the database holds them now: what a pruner wrote
    through the storage is not in the live `optuna.Trial`'s cached copy."""
    return dict(storage.get_trial(_trial_id(storage, study, number)).user_attrs)

