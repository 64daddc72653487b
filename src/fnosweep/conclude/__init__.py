"""The sweep as a whole: stable regions, the best configuration, pruning, what to change,
and a follow-up spec."""

from fnosweep.conclude._conclusion import SweepConclusion, SweepTrial, conclude
from fnosweep.conclude._followup import followup_spec, write_followup_spec
from fnosweep.conclude._narrow import settle_conditions, suggest_space
from fnosweep.conclude._regions import knob_region
from fnosweep.conclude._render import render_sweep

__all__ = ["SweepConclusion", "SweepTrial", "conclude", "followup_spec", "knob_region", "render_sweep",
           "settle_conditions", "suggest_space", "write_followup_spec"]
