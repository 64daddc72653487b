"""`read_spec`: read a file, apply `--set` overrides and parse; the spec with its line map.

The spec alone checks everything but what only Optuna can judge (a value its sampler or
pruner refuses): `fnosweep.space.load_spec` tries those one layer up, and reports a
refusal at its line through the `Locator` returned here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fnosweep.spec._yaml import Locator, apply_overrides, load_document
from fnosweep.spec.context import ParseContext
from fnosweep.spec.schema import SweepSpec
from fnosweep.spec.sections import parse_sections


def read_spec(path: str | Path, overrides: Sequence[str] = ()) -> tuple[SweepSpec, Locator]:
    """Read, override (`dotted.key=value`) and validate a spec file; raises `SpecError`.

    Returns the spec and where each of its key paths came from (`Locator.where`: the
    file's line, or the `--set` that wrote it), for the checks of the layers above.
    """
    doc, lines, source = load_document(path)
    doc, lines, origins = apply_overrides(doc, lines, overrides)
    locator = Locator(source, lines, origins)
    return parse_sections(doc, ParseContext(locator)), locator
