"""Diagnosis of one FNO training run: pure functions over history values.

No torch, ray, optuna or database here: a history (``fnosweep.history``) in, findings,
a verdict and markdown text out. The sweep as a whole is `fnosweep.conclude`.
"""

from fnosweep.diagnose.core import diagnose, prune_decision
from fnosweep.diagnose.findings import FINDING_CODES, Diagnosis, Finding
from fnosweep.diagnose.render import render_trial
from fnosweep.diagnose.thresholds import UNJUDGED, UNSTABLE, VERDICTS, ThresholdError, Thresholds
from fnosweep.diagnose.ttt import TimeToTarget, time_to_target

__all__ = [
    "FINDING_CODES",
    "UNJUDGED",
    "UNSTABLE",
    "VERDICTS",
    "Diagnosis",
    "Finding",
    "ThresholdError",
    "Thresholds",
    "TimeToTarget",
    "diagnose",
    "prune_decision",
    "render_trial",
    "time_to_target",
]
