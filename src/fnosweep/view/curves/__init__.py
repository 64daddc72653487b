"""Epoch-level figures: pure functions of the epochs frame (see `frames.epochs_frame`).

The few trials worth a look (`pick_trials`) are drawn whole (`_picked`); panels of every
trial are drawn light, one trace per verdict (`_by_verdict`); the layer groups' gradient
norms have their own figure (`_groups`).
"""

from __future__ import annotations

from fnosweep.view.curves._by_verdict import (
    by_verdict_figure,
    compared_trials,
    gradients_figure,
    update_ratio_figure,
    verdict_index,
)
from fnosweep.view.curves._groups import groups_figure
from fnosweep.view.curves._picked import MARKS, PICK_COLORS, learning_curves_figure, pick_trials

__all__ = [
    "MARKS",
    "PICK_COLORS",
    "by_verdict_figure",
    "compared_trials",
    "gradients_figure",
    "groups_figure",
    "learning_curves_figure",
    "pick_trials",
    "update_ratio_figure",
    "verdict_index",
]
