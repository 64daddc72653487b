"""`load_spec`: read a file, apply `--set` overrides, parse, and try sampler and pruner."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from fnosweep.errors import SpecError
from fnosweep.spec._yaml import Locator, apply_overrides, load_document
from fnosweep.spec.context import ParseContext
from fnosweep.spec.schema import SweepSpec
from fnosweep.spec.sections import parse_sections


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> SweepSpec:
    """Read, override (`dotted.key=value`) and validate a spec file; raises `SpecError`.

    Sampler and pruner arguments are also tried on Optuna's own classes here, so a
    value Optuna refuses is reported before anything touches the database.
    """
    doc, lines, source = load_document(path)
    doc, lines, origins = apply_overrides(doc, lines, overrides)
    ctx = ParseContext(Locator(source, lines, origins))
    spec = parse_sections(doc, ctx)
    from fnosweep import space  # optuna is allowed here; torch and ray are not

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning of some samplers and pruners
        for part, build in (("sampler", space.build_sampler), ("pruner", space.build_pruner)):
            try:
                build(spec)
            except SpecError as e:
                raise SpecError(f"{ctx.locator.where(('study', part))}: {e}") from None
    return spec
