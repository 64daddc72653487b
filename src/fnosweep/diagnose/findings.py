"""The values a diagnosis is made of: findings, one verdict, what could not be judged."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    "gradient_growth": "gradient norm rising steadily while the run still improves",
    "heavy_clipping": "clipping rescales most steps without a growing norm",
    "lr_restart": "the learning rate jumped up and the loss bump is the schedule's",
    "nonfinite_skipped": "non-finite steps that the guard kept out of the weights, the epoch finite",
    "eval_mismatch": "eval far from the training loss from the first epoch and never following it",
    "converged": "the loss fell and is now flat, with eval at or below the target",
    "time_to_target": "fit of the learning curve: epochs until the target",
}
"""Every code a finding can carry. Verdict codes are also finding codes; the others are
warnings and notes that never decide a verdict."""


Direction = Literal["lower", "raise", "set", "keep", "check"]
KNOBS = ("lr", "clip", "scheduler", "batch_size", "weight_decay", "model", "n_train", "budget",
         "checkpoint", "data", "eval")
"""What an action can change; each knob gets at most one action per diagnosis."""


@dataclass(frozen=True)
class Step:
    """One action on one knob: ``Step("lr", "lower", "lower lr from 1e-4 to 3e-5 (÷3)")``."""

    knob: str
    direction: Direction
    text: str

    def __post_init__(self) -> None:
        if self.knob not in KNOBS:
            raise ValueError(f"unknown knob, but got knob={self.knob!r}")


def action_text(steps: Sequence[Step], tail: str = "") -> str:
    """The steps as one action sentence."""
    return "; ".join([s.text for s in steps] + ([tail] if tail else [])) + "."


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
    steps: tuple[Step, ...] = ()
    """The action as knob changes (what `resolve` merges across findings); empty for a
    finding whose action changes no setting."""

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
            "numbers": strict(dict(self.numbers)),
        }


@dataclass(frozen=True)
class Diagnosis:
    """The verdict of one run: the most severe problem, or ``healthy``; ``unknown`` when the
    history has no epochs to judge."""

    verdict: str
    findings: tuple[Finding, ...]
    not_judged: tuple[str, ...] = ()
    """What could not be judged and why ("gradients: the history has no grad_norm")."""
    actions: tuple[Step, ...] = ()
    """What to change, one step per knob, most severe finding first (`resolve`)."""

    def to_json(self) -> dict[str, Any]:
        """Strict JSON: a non-finite number is null (the history file keeps NaN/Infinity)."""
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


COVERED = "covered by a more severe finding's action on the same knob"


def resolve(findings: tuple[Finding, ...]) -> tuple[tuple[Finding, ...], tuple[Step, ...]]:
    """One action per knob: the most severe finding's step wins, a later step on the same knob
    is dropped from its finding (so no two actions pull one knob apart). `findings` in order."""
    taken: dict[str, Step] = {}
    kept: list[Finding] = []
    for f in findings:
        mine = [st for st in f.steps if st.knob not in taken]
        for st in mine:
            taken[st.knob] = st
        if len(mine) != len(f.steps):
            f = replace(f, steps=tuple(mine), action=action_text(mine) if mine else
                        f"{COVERED} ({', '.join(sorted({st.knob for st in f.steps}))}).")
        kept.append(f)
    return tuple(kept), tuple(taken.values())


def strict(value: Any) -> Any:
    """`value` with every non-finite float as None, so strict JSON parsers read it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    return value
