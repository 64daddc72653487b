"""`StabilityMonitor.attach`: the monitor inside ``neuralop.Trainer`` (neuralop 2.0).

The Trainer has no callbacks, so four of its methods are wrapped on the instance
(the class is untouched; `detach` deletes the wrappers):

- ``train_one_batch`` returns the batch's loss: observe it, with the batch size the
  Trainer counted (``n_samples`` grows by it) and the training loss's ``reduction``;
- ``train_one_epoch`` starts the epoch clock first (after ``train`` moved the model)
  and leaves the epoch pending: the Trainer evaluates after it;
- ``evaluate_all`` ends the pending epoch with its evaluation figures;
- ``train`` ends a pending (not evaluated) epoch when it returns.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import torch

from fnosweep.errors import MonitorError

if TYPE_CHECKING:
    from fnosweep.monitor import StabilityMonitor

_WRAPPED = ("train_one_batch", "train_one_epoch", "evaluate_all", "train")
_PENDING = "_fnosweep_pending_epoch"


def attach(monitor: StabilityMonitor, trainer: Any) -> None:
    missing = [name for name in _WRAPPED if not callable(getattr(trainer, name, None))]
    if missing:
        raise MonitorError(f"attach() needs a neuralop.Trainer; {type(trainer).__name__} has no {', '.join(missing)}")
    if getattr(trainer, "model", monitor.model) is not monitor.model:
        raise MonitorError("attach(): the Trainer trains another model than the monitor's")
    original = {name: getattr(trainer, name) for name in _WRAPPED}
    setattr(trainer, _PENDING, None)

    def flush() -> None:
        pending = getattr(trainer, _PENDING)
        if pending is not None:
            setattr(trainer, _PENDING, None)
            monitor.end_epoch(epoch=pending)

    @functools.wraps(original["train_one_batch"])
    def train_one_batch(idx: int, sample: Any, training_loss: Any) -> Any:
        before = trainer.n_samples
        loss = original["train_one_batch"](idx, sample, training_loss)
        reduction = getattr(training_loss, "reduction", "sum")
        monitor.observe(
            loss,
            batch_size=trainer.n_samples - before,
            reduction="mean" if reduction == "mean" else "sum",
        )
        return loss

    @functools.wraps(original["train_one_epoch"])
    def train_one_epoch(epoch: int, train_loader: Any, training_loss: Any) -> Any:
        flush()
        if getattr(trainer, "optimizer", monitor.optimizer) is not monitor.optimizer:
            raise MonitorError("attach(): Trainer.train() got another optimizer than the monitor's")
        monitor.start_epoch()
        result = original["train_one_epoch"](epoch, train_loader, training_loss)
        setattr(trainer, _PENDING, epoch)
        return result

    @functools.wraps(original["evaluate_all"])
    def evaluate_all(*args: Any, **kwargs: Any) -> Any:
        metrics = original["evaluate_all"](*args, **kwargs)
        pending = getattr(trainer, _PENDING)
        if pending is not None:
            setattr(trainer, _PENDING, None)
            numbers = {k: v for k, v in metrics.items() if _is_number(v)}  # drops e.g. wandb images
            monitor.end_epoch(numbers, epoch=pending)
        return metrics

    @functools.wraps(original["train"])
    def train(*args: Any, **kwargs: Any) -> Any:
        result = original["train"](*args, **kwargs)
        flush()  # only on a normal return: a crashed epoch stays open for the caller
        return result

    for name, wrapper in zip(_WRAPPED, (train_one_batch, train_one_epoch, evaluate_all, train), strict=True):
        setattr(trainer, name, wrapper)


def detach(trainer: Any) -> None:
    for name in _WRAPPED:
        trainer.__dict__.pop(name, None)
    trainer.__dict__.pop(_PENDING, None)


def _is_number(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return isinstance(value, int | float) and not isinstance(value, bool)
