"""What the rules read, gathered once per history."""

from __future__ import annotations

from dataclasses import dataclass

from fnosweep.diagnose import claims, fmt
from fnosweep.diagnose.findings import Finding
from fnosweep.diagnose.series import (
    Series,
    clip_series,
    eval_series,
    first_step_norm,
    grad_max,
    grad_series,
    loss_series,
    lr_series,
    pick_metric,
)
from fnosweep.diagnose.ttt import check_target
from fnosweep.history import History, RunInfo
from fnosweep.spec.thresholds import Thresholds

Result = tuple[list[Finding], list[str]]
"""What a rule returns: its findings and what it could not judge (and why)."""


@dataclass(frozen=True)
class Context:
    history: History
    th: Thresholds
    target: float
    metric: str | None
    loss: Series | None
    eval: Series | None
    grad: Series | None
    gmax: Series | None
    first_norm: float | None
    clip: Series | None
    lr: Series | None

    @property
    def run(self) -> RunInfo:
        return self.history.run

    @property
    def n_epochs(self) -> int:
        return len(self.history.epochs)

    @property
    def last_epoch(self) -> int:
        return self.history.epochs[-1].epoch if self.history.epochs else 0

    def lr_text(self) -> str:
        """The run's learning rate as the actions quote it (the initial one)."""
        lr = self.run.lr if self.run.lr is not None else (self.lr.values[0] if self.lr else None)
        return fmt.sci(lr)

    def lr_value(self) -> float | None:
        return self.run.lr if self.run.lr is not None else (self.lr.values[0] if self.lr else None)

    def last_clip(self) -> float | None:
        return self.clip.values[-1] if self.clip else None

    def no_loss(self) -> str:
        """Why there is no training-loss series: absent, or recorded but never finite (NaN is
        a value the run recorded, not a missing field)."""
        recorded = any(v is not None for e in self.history.epochs
                       for v in (e.train_loss, e.train_err))
        return ("every recorded train_loss is non-finite" if recorded else
                "the history has no train_loss")

    def no_eval(self) -> str:
        """Why there is no eval series: absent, or recorded but never finite."""
        recorded = any(v is not None for e in self.history.epochs for v in e.eval.values())
        return ("every recorded eval value is non-finite" if recorded else
                "the history has no eval metrics")

    @property
    def clipping(self) -> bool:
        """The run clips: a threshold on its run line, or a step clipped. Zeros recorded
        without a threshold are an unclipped run's (judged as unclipped)."""
        return self.run.clip_threshold is not None or any(
            v > 0 for v in (self.clip.values if self.clip else []))

    @property
    def adaptive(self) -> bool:
        """Adam-like optimizer (Adam, AdamW, RMSprop, ...): it normalises each step, so a
        uniform rescaling of the gradient (clipping every step) barely changes the update."""
        name = (self.run.optimizer or "").lower()
        return any(k in name for k in ("adam", "rmsprop", "adagrad", "adadelta", "lamb", "lion"))

    @property
    def sgd(self) -> bool:
        return "sgd" in (self.run.optimizer or "").lower()


def build_context(history: History, th: Thresholds, target: float | None,
                  metric: str | None) -> Context:
    chosen = pick_metric(history, metric)
    return Context(
        history=history,
        th=th,
        target=th.target if target is None else check_target(target),
        metric=chosen,
        loss=loss_series(history),
        eval=eval_series(history, chosen),
        grad=grad_series(history),
        gmax=grad_max(history),
        first_norm=first_step_norm(history),
        clip=clip_series(history),
        lr=lr_series(history),
    )


def change_text(s: Series, label: str | None = None) -> str:
    """``train loss 0.8695 → 0.8658 (-0.4 %) over epochs 0–2``."""
    return claims.change(s, label)
