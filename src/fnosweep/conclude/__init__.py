"""The sweep as a whole: which knob causes the instability, the stable regions (one
binning, shared with the report's stability map), what matters for the objective, the
best trials, the compute pruning saved, what to change, and a follow-up spec.

Pure functions over the trials as the store reads them back (`SweepTrial`); the report,
`fnosweep diagnose STUDY` and `--suggest` all read one `SweepConclusion`.
"""

from fnosweep.conclude._attribution import Attribution, Case, Conditioned, Rule, attribute
from fnosweep.conclude._conclusion import SweepConclusion, SweepTrial, conclude, trial_verdict
from fnosweep.conclude._followup import followup_spec, write_followup_spec
from fnosweep.conclude._grid import GridPoint, StabilityGrid, stability_grid
from fnosweep.conclude._importance import Importance, importance
from fnosweep.conclude._narrow import settle_conditions, suggest_space
from fnosweep.conclude._outcome import BAD, outcome, prune_label
from fnosweep.conclude._regions import Bin, Binning, KnobRegion, binning, knob_region, value_text
from fnosweep.conclude._render import render_sweep

__all__ = [
    "BAD",
    "Attribution",
    "Bin",
    "Binning",
    "Case",
    "Conditioned",
    "GridPoint",
    "Importance",
    "KnobRegion",
    "Rule",
    "StabilityGrid",
    "SweepConclusion",
    "SweepTrial",
    "attribute",
    "binning",
    "conclude",
    "followup_spec",
    "importance",
    "knob_region",
    "outcome",
    "prune_label",
    "render_sweep",
    "settle_conditions",
    "stability_grid",
    "suggest_space",
    "trial_verdict",
    "value_text",
    "write_followup_spec",
]
