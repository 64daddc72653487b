"""Property: over generated histories, no diagnosis text contradicts its numbers.

The checks are `fnosweep.diagnose.audit` (directions, frequencies, quoted values, factors,
warnings, budgets, checkpoints, knobs, domain facts, strict JSON). CI runs a few hundred
histories; benchmarks/diagnosis_properties.py runs the full count (BENCHMARKS.md).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from strategies import histories

from fnosweep.diagnose import diagnose, render_trial
from fnosweep.diagnose.audit import audit


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(histories())
def test_no_text_contradicts_its_numbers(history):
    d = diagnose(history)
    text = render_trial(d, history)
    assert audit(history, d, text) == [], text
