"""The values a diagnosis is made of: findings, one verdict, what could not be judged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fnosweep.spec.thresholds import VERDICTS

Severity = Literal["problem", "warning", "info"]
Number = float | int | str | None

FINDING_CODES: Mapping[str, str] = {
    "diverged": "non-finite loss or gradients, or a loss that keeps climbing",
    "exploding_gradients": "gradient norm up by orders of magnitude, clipping on most steps",
    "overfitting": "eval worsens while the training loss improves",
    "plateau": "neither the training loss nor eval moves (or they stalled above the target)",
    "learning_slowly": "moving, but far too slowly to reach the target within the budget",
    "overparameterized": "parameters per training sample far above what the data supports",
    "gradient_growth": "gradient norm rising steadily while clipping still holds it",
    "heavy_clipping": "clipping rescales most steps without a growing norm",
    "lr_restart": "the learning rate jumped up and the loss bump is the schedule's",
    "nonfinite_skipped": "non-finite steps that the guard kept out of the weights, the epoch finite",
    "converged": "the loss fell and is now flat, with eval at or below the target",
    "time_to_target": "fit of the eval curve: epochs until the target",
}
"""Every code a finding can carry. Verdict codes are also finding codes; the others are
warnings and notes that never decide a verdict."""


@dataclass(frozen=True)
class Finding:
    """One judged fact about a run: numbers first (evidence), then what to do (action)."""

    code: str
    severity: Severity
    epoch: int | None
    """The epoch the finding is about (where it started or was seen), or None."""
    evidence: str
    action: str
    numbers: Mapping[str, Number] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in FINDING_CODES:
            raise ValueError(f"unknown finding code, but got code={self.code!r}")
        if self.severity not in ("problem", "warning", "info"):
            raise ValueError(f"severity must be problem|warning|info, but got {self.severity!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "epoch": self.epoch,
            "evidence": self.evidence,
            "action": self.action,
            "numbers": dict(self.numbers),
        }


@dataclass(frozen=True)
class Diagnosis:
    """The verdict of one run: the most severe problem, or ``healthy``; ``unknown`` when the
    history has no epochs to judge."""

    verdict: str
    findings: tuple[Finding, ...]
    not_judged: tuple[str, ...] = ()
    """What could not be judged and why ("gradients: the history has no grad_norm")."""

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "findings": [f.to_json() for f in self.findings],
            "not_judged": list(self.not_judged),
        }

    def by_code(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)


_SEVERITY_ORDER = {"problem": 0, "warning": 1, "info": 2}


def verdict_of(findings: tuple[Finding, ...] | list[Finding]) -> str:
    """The most severe problem's code in `VERDICTS` order; ``healthy`` when there is none."""
    problems = {f.code for f in findings if f.severity == "problem"}
    return next((v for v in VERDICTS if v in problems), "healthy")


def ordered(findings: list[Finding]) -> tuple[Finding, ...]:
    """Problems first, then warnings, then notes; within each, verdict order."""
    rank = {code: i for i, code in enumerate(FINDING_CODES)}
    return tuple(sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], rank[f.code])))
