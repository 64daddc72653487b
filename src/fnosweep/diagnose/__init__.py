"""Diagnosis of FNO training runs and sweeps: pure functions over history values.

No torch, ray, optuna or database here: a history (``fnosweep.history``) in, findings,
a verdict, a sweep conclusion and markdown text out.
"""

from fnosweep.diagnose.audit import audit
from fnosweep.diagnose.core import PrunePolicy, diagnose, prune_decision, should_prune
from fnosweep.diagnose.findings import FINDING_CODES, Diagnosis, Finding, Step
from fnosweep.diagnose.render import render_trial
from fnosweep.diagnose.suggest import suggest_space
from fnosweep.diagnose.sweep import SweepConclusion, SweepTrial, conclude
from fnosweep.diagnose.sweep_render import render_sweep
from fnosweep.diagnose.ttt import TimeToTarget, time_to_target
from fnosweep.spec.thresholds import UNJUDGED, UNSTABLE, VERDICTS, ThresholdError, Thresholds

__all__ = [
    "FINDING_CODES",
    "UNJUDGED",
    "UNSTABLE",
    "VERDICTS",
    "Diagnosis",
    "SweepConclusion",
    "SweepTrial",
    "Finding",
    "PrunePolicy",
    "Step",
    "ThresholdError",
    "Thresholds",
    "TimeToTarget",
    "audit",
    "conclude",
    "diagnose",
    "prune_decision",
    "render_sweep",
    "render_trial",
    "should_prune",
    "suggest_space",
    "time_to_target",
]
