"""Diagnosis of one FNO training run: pure functions over history values.

No torch, ray, optuna or database here: a history (``fnosweep.history``) in, findings,
a verdict and markdown text out. The sweep as a whole is `fnosweep.conclude`.
"""

from fnosweep.diagnose.audit import audit
from fnosweep.diagnose.core import PrunePolicy, diagnose, prune_decision, should_prune
from fnosweep.diagnose.findings import FINDING_CODES, Diagnosis, Finding, Step
from fnosweep.diagnose.render import render_trial
from fnosweep.diagnose.ttt import TimeToTarget, time_to_target
from fnosweep.spec.thresholds import UNJUDGED, UNSTABLE, VERDICTS, ThresholdError, Thresholds

__all__ = [
    "FINDING_CODES",
    "UNJUDGED",
    "UNSTABLE",
    "VERDICTS",
    "Diagnosis",
    "Finding",
    "PrunePolicy",
    "Step",
    "ThresholdError",
    "Thresholds",
    "TimeToTarget",
    "audit",
    "diagnose",
    "prune_decision",
    "render_trial",
    "should_prune",
    "time_to_target",
]
