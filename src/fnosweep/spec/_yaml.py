"""A spec file as plain data plus the line of every key, and `--set` overrides applied to it.

PyYAML's `safe_load` forgets where values came from and silently keeps the last of two
duplicate keys, so the document is composed into nodes and walked here: every key path
gets its line, duplicates are refused with both lines. `Locator` then turns a key path
into the place an error message points at: `file:line` or the `--set` that wrote it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fnosweep.errors import SpecError

KeyPath = tuple[str, ...]
"""Keys from the top of the document; a list item is a segment like "[2]"."""

_MAX_VALUES = 100_000
"""Aliases can expand a small file exponentially ("billion laughs"); stop well before."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


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


def load_document(path: str | Path) -> tuple[Any, dict[KeyPath, int], str]:
    """Read a YAML file: (plain document, line of each key path, source name for messages)."""
    source = str(path)
    file = Path(path)
    if file.is_dir():
        raise SpecError(f"{source}: is a directory, expected a YAML spec file")
    if not file.exists():
        raise SpecError(f"{source}: no such file")
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"{source}: is not UTF-8 text (byte {e.start})") from e
    except OSError as e:
        raise SpecError(f"{source}: cannot be read: {e.strerror or e}") from e
    doc, lines = parse_document(text, source)
    return doc, lines, source


def parse_document(text: str, source: str) -> tuple[Any, dict[KeyPath, int]]:
    """Compose YAML text (safe tags only) into plain data and the line of every key path."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        tab_line = _first_tab_indent(text)
        if tab_line is not None and (line is None or tab_line <= line):
            raise SpecError(
                f"{source}:{tab_line}: a tab is used for indentation; YAML allows only spaces"
            ) from e
        where = f"{source}:{line}" if line is not None else source
        detail = one_line(" ".join(p for p in (e.context, e.problem) if p))
        raise SpecError(f"{where}: invalid YAML: {detail}") from e
    except yaml.YAMLError as e:  # e.g. a control character the reader refuses
        raise SpecError(f"{source}: invalid YAML: {one_line(str(e))}") from e
    if node is None:
        raise SpecError(
            f"{source}: the file is empty; a spec needs at least study.name, study.n_trials "
            "and one search parameter"
        )
    walker = _Walker(source)
    doc = walker.value(node, (), frozenset())
    walker.lines[()] = node.start_mark.line + 1
    return doc, walker.lines


def _first_tab_indent(text: str) -> int | None:
    """Line number of the first line indented with a tab, if any."""
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            return number
    return None


class _Walker:
    """Turns composed nodes into dicts, lists and scalars, recording lines on the way."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[KeyPath, int] = {}
        self.count = 0
        # Scalars are built by PyYAML's own safe constructor, so ints, floats, nulls and
        # booleans resolve exactly as yaml.safe_load would resolve them.
        self.loader = yaml.SafeLoader("")

    def fail(self, node: yaml.Node, path: KeyPath, what: str) -> SpecError:
        return SpecError(f"{self.source}:{node.start_mark.line + 1}: {render_path(path)}: {what}")

    def value(self, node: yaml.Node, path: KeyPath, stack: frozenset[int]) -> Any:
        self.count += 1
        if self.count > _MAX_VALUES:
            raise SpecError(f"{self.source}: more than {_MAX_VALUES} values (aliases expanding?)")
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.loader.construct_object(node, deep=True)
            except Exception as e:  # the constructor raises ValueError, TypeError, YAMLError...
                raise self.fail(node, path, f"cannot read this value: {one_line(str(e))}") from e
        if id(node) in stack:
            raise self.fail(node, path, "an alias refers to itself")
        stack = stack | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise self.fail(node, path, f"unsupported YAML tag {node.tag}")
            items = []
            for i, item in enumerate(node.value):
                self.lines[(*path, f"[{i}]")] = item.start_mark.line + 1
                items.append(self.value(item, (*path, f"[{i}]"), stack))
            return items
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise self.fail(node, path, f"unsupported YAML tag {node.tag}")
            return self.mapping(node, path, stack)
        raise self.fail(node, path, "unsupported YAML node")  # pragma: no cover

    def mapping(self, node: yaml.MappingNode, path: KeyPath, stack: frozenset[int]) -> dict:
        merged: dict[str, Any] = {}
        explicit: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *base`: keys of base, unless given here
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [
                    value_node
                ]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self.fail(value_node, path, "`<<` must merge a mapping")
                    for key, value in self.mapping(source, path, stack).items():
                        merged.setdefault(key, value)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "a key must be a plain name, not a list or mapping")
            # Keys are names: their text is what was meant (`no:` is the key "no", not False).
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise self.fail(
                    key_node,
                    (*path, key),
                    f"duplicate key (first at line {first_line[key]}); YAML would keep only one",
                )
            first_line[key] = line
            self.lines[(*path, key)] = line
            explicit[key] = self.value(value_node, (*path, key), stack)
        return {**merged, **explicit}


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
        label = f"--set {show_name(text)}"
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


def _split_override(text: str, label: str) -> tuple[list[str], Any]:
    key, sep, raw = text.partition("=")
    keys = key.strip().split(".")
    if not sep or not all(keys):
        raise SpecError(f"{label}: expected dotted.key=value, e.g. training.epochs=3")
    try:
        value = yaml.safe_load(raw)
    except Exception as e:  # YAMLError, or ValueError from a tag such as `!!float x`
        raise SpecError(f"{label}: the value is not valid YAML: {one_line(str(e))}") from e
    return keys, value


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
