"""Key paths and the places they came from, as error messages name them.

`Locator` turns a key path into the place an error message points at: `file:line` or the
`--set` that wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

KeyPath = tuple[str, ...]
"""Keys from the top of the document; a list item is a segment like "[2]"."""


def show_name(name: str) -> str:
    """A key as messages show it: as is, or quoted when it would break the one-line message."""
    return name if name.isprintable() and name.strip() == name and name else repr(name)


def render_path(path: KeyPath) -> str:
    """`("study", "pruner", "type")` → `study -> pruner -> type`; list items as `choices[1]`."""
    text = ""
    for segment in path:
        if segment.startswith("["):
            text += segment
        else:
            text += (" -> " if text else "") + show_name(segment)
    return text or "(top level)"


def one_line(text: str) -> str:
    """Error messages are one line: YAML's own span several."""
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Locator:
    """Where a key path came from, for error messages."""

    source: str
    """The file name as the user gave it, or `<spec>` for a document built in code."""
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    """Line (1-based) of each key path in the file."""
    origins: Mapping[KeyPath, str] = field(default_factory=dict)
    """Key paths written by an override, and that override as `--set key=value`."""

    def where(self, path: KeyPath) -> str:
        """The nearest known place of `path` or of its closest ancestor."""
        for n in range(len(path), -1, -1):
            prefix = path[:n]
            if prefix in self.origins:
                return self.origins[prefix]
            if prefix in self.lines:
                return f"{self.source}:{self.lines[prefix]}"
        return self.source
