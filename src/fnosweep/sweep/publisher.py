"""What the driver tells the world besides the study: a `Publisher` handed in by the caller.

The sweep package owns the Optuna study but draws nothing: `fnosweep run` and the cluster
entry hand in `fnosweep.view.dashboard.DashboardPublisher` (optuna-dashboard's notes,
attributes and figures); a library caller may hand in none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import optuna

    from fnosweep.diagnose import Diagnosis
    from fnosweep.history import History
    from fnosweep.store import Store


class Publisher(Protocol):
    def trial(self, study: optuna.Study, trial: optuna.Trial, history: History, diagnosis: Diagnosis) -> None:
        """An ended trial, before the study is told (its user attributes freeze then)."""

    def sweep(self, study: optuna.Study, store: Store, study_name: str) -> None:
        """The whole sweep as the store holds it now (a minute apart at most, and at its end)."""
