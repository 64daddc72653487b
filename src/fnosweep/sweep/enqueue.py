"""The spec's `study.enqueue` trials, put in a new study's queue before the sampler runs.

Part of the driver (the Optuna study's only owner). Only a study that holds no trial
yet gets them: a resumed study already ran or queued them, and a user who edits the
list of a running study should not see trials appear in the middle of it.
"""

from __future__ import annotations

import optuna

from fnosweep.spec import SweepSpec


def enqueue_first(spec: SweepSpec, study: optuna.Study) -> int:
    """Enqueue `spec.study.enqueue` in order if `study` is new; returns how many were."""
    if not spec.study.enqueue or study.get_trials(deepcopy=False):
        return 0
    for params in spec.study.enqueue:
        # Parameters an entry leaves out are drawn by the sampler when the trial is asked.
        study.enqueue_trial(dict(params), skip_if_exists=False)
    return len(spec.study.enqueue)
