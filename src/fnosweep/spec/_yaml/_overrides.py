"""`--set dotted.key=value` overrides, applied to a copy of the spec's document."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from fnosweep.errors import SpecError
from fnosweep.spec._yaml._document import Walker, compose
from fnosweep.spec._yaml._paths import KeyPath, one_line, render_path, show_name

MAX_OVERRIDE_CHARS = 10_000
"""A `--set` value is one field, a list of choices at most."""


def apply_overrides(
    doc: Any, lines: Mapping[KeyPath, int], overrides: Sequence[str]
) -> tuple[Any, dict[KeyPath, int], dict[KeyPath, str]]:
    """Apply `dotted.key=value` overrides to a copy of the document.

    Returns the new document, the lines still true of it, and the key paths each
    override wrote (so an error there names the override, not a stale file line).
    """
    doc = copy.deepcopy(doc)
    lines = dict(lines)
    origins: dict[KeyPath, str] = {}
    for text in overrides:
        label = f"--set {_cut(show_name(text))}"
        keys, value = _split_override(text, label)
        if not isinstance(doc, dict):
            break  # the document itself is refused by the parser, with its own message
        path = _override_path(doc, keys, value)
        node = doc
        for i, segment in enumerate(path[:-1]):
            if segment not in node:
                node[segment] = {}
                origins[path[: i + 1]] = label
            elif not isinstance(node[segment], dict):
                raise SpecError(
                    f"{label}: {render_path(path[: i + 1])}: is not a mapping, so it has no key "
                    f"{path[i + 1]!r}, but got {node[segment]!r}"
                )
            node = node[segment]
        node[path[-1]] = value
        for known in [p for p in lines if p[: len(path)] == path]:
            del lines[known]
        for known in [p for p in origins if p[: len(path)] == path]:
            del origins[known]
        origins[path] = label
    return doc, lines, origins


def _cut(text: str, limit: int = 120) -> str:
    """An override as its label shows it: a 10 MB one is not repeated in every message."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _split_override(text: str, label: str) -> tuple[list[str], Any]:
    key, sep, raw = text.partition("=")
    keys = key.strip().split(".")
    if not sep or not all(keys):
        raise SpecError(f"{label}: expected dotted.key=value, e.g. training.epochs=3")
    if len(raw) > MAX_OVERRIDE_CHARS:
        raise SpecError(f"{label}: the value is {len(raw)} characters; a --set value is at most "
                        f"{MAX_OVERRIDE_CHARS} (put a longer one in the spec file)")
    try:
        node = compose(raw, label)
    except yaml.YAMLError as e:
        raise SpecError(f"{label}: the value is not valid YAML: {one_line(str(e))}") from e
    # the walker, as for a file: safe tags only, and aliases expanding past its bound refused
    return keys, None if node is None else Walker(label, with_lines=False).value(node, (), frozenset())


def _override_path(doc: dict, keys: list[str], value: Any) -> KeyPath:
    """Key path of an override; search keys are dotted themselves, so match them first."""
    if keys[0] != "search" or len(keys) == 1:
        return tuple(keys)
    rest = keys[1:]
    search = doc.get("search")
    known = search if isinstance(search, dict) else {}
    for n in range(len(rest), 0, -1):  # the longest search key that the override starts with
        name = ".".join(rest[:n])
        if name in known:
            return ("search", name, *_attr_path(rest[n:]))
    if len(rest) == 1 or isinstance(value, dict):
        return ("search", ".".join(rest))
    return ("search", ".".join(rest[:-1]), rest[-1])


def _attr_path(attrs: list[str]) -> KeyPath:
    """`when.a.b` → ("when", "a.b"): the keys of `when` are dotted themselves."""
    if len(attrs) > 1 and attrs[0] == "when":
        return ("when", ".".join(attrs[1:]))
    return tuple(attrs)
