"""docs/diagnosis.md lists every threshold with its default and range, so it cannot go stale."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fnosweep.spec.thresholds import LIMITS, Thresholds

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagnosis.md"


def test_every_threshold_is_documented_with_its_default_and_range():
    text = DOCS.read_text()
    for f in dataclasses.fields(Thresholds):
        assert f"- `{f.name}` = `{f.default!r}`, range {LIMITS[f.name][0]} — " in text, f.name
