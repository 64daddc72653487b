"""The spec's YAML: a file as plain data plus the line of every key (`_document`), `--set`
overrides applied to it (`_overrides`), and the key paths and places error messages name
(`_paths`)."""

from __future__ import annotations

from fnosweep.spec._yaml._document import MAX_DEPTH, MAX_NODES, MAX_SPEC_BYTES, load_document, parse_document
from fnosweep.spec._yaml._overrides import MAX_OVERRIDE_CHARS, apply_overrides
from fnosweep.spec._yaml._paths import KeyPath, Locator, one_line, render_path, show_name

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_OVERRIDE_CHARS",
    "MAX_SPEC_BYTES",
    "KeyPath",
    "Locator",
    "apply_overrides",
    "load_document",
    "one_line",
    "parse_document",
    "render_path",
    "show_name",
]
