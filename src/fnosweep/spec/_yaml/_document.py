"""A spec file as plain data plus the line of every key.

PyYAML's `safe_load` forgets where values came from and silently keeps the last of two
duplicate keys, so the document is composed into nodes and walked here: every key path
gets its line, duplicates are refused with both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fnosweep.errors import SpecError
from fnosweep.files import read_bounded
from fnosweep.spec._yaml._paths import KeyPath, one_line, render_path

_MAX_VALUES = 100_000
"""Aliases can expand a small file exponentially ("billion laughs"); stop well before."""
MAX_SPEC_BYTES = 1_000_000
"""A spec is a few kilobytes; a bigger file is refused before YAML reads any of it."""
MAX_NODES = 20_000
"""YAML nodes (scalars, lists, mappings, aliases) a spec may hold, counted while composing."""
MAX_DEPTH = 50
"""Nesting levels a spec may use (it needs about 6); PyYAML composes recursively."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_document(path: str | Path) -> tuple[Any, dict[KeyPath, int], str]:
    """Read a YAML file: (plain document, line of each key path, source name for messages)."""
    source = str(path)
    file = Path(path)
    data = read_bounded(file, MAX_SPEC_BYTES, SpecError, "a YAML spec file", source)
    try:
        if len(data) > MAX_SPEC_BYTES:
            size = file.stat().st_size
            raise SpecError(
                f"{source}: is {_megabytes(max(size, len(data)))}; a spec file is at most "
                f"{_megabytes(MAX_SPEC_BYTES)} (a spec is a few kilobytes)"
            )
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"{source}: is not UTF-8 text (byte {e.start})") from e
    except OSError as e:
        raise SpecError(f"{source}: cannot be read: {e.strerror or e}") from e
    doc, lines = parse_document(text, source)
    return doc, lines, source


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def parse_document(text: str, source: str) -> tuple[Any, dict[KeyPath, int]]:
    """Compose YAML text (safe tags only) into plain data and the line of every key path."""
    try:
        node = compose(text, source)
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
    walker = Walker(source)
    doc = walker.value(node, (), frozenset())
    walker.lines[()] = node.start_mark.line + 1
    return doc, walker.lines


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe composer, counting nodes and nesting as it goes: a huge list or a deep
    nest is refused at its node MAX_NODES or level MAX_DEPTH, before more is built."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source, self.nodes, self.depth = source, 0, 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.nodes += 1
        self.depth += 1
        try:
            if self.nodes > MAX_NODES or self.depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                what = (f"more than {MAX_NODES} values" if self.nodes > MAX_NODES
                        else f"nesting deeper than {MAX_DEPTH} levels")
                raise SpecError(f"{self.source}:{line}: {what}; a spec holds a few hundred values, "
                                "a few levels deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def compose(text: str, source: str) -> yaml.Node | None:
    loader = _BoundedLoader(text, source)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _first_tab_indent(text: str) -> int | None:
    """Line number of the first line indented with a tab, if any."""
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            return number
    return None


class Walker:
    """Turns composed nodes into dicts, lists and scalars, recording lines on the way."""

    def __init__(self, source: str, *, with_lines: bool = True) -> None:
        self.source = source
        self.with_lines = with_lines
        self.lines: dict[KeyPath, int] = {}
        self.count = 0
        # Scalars are built by PyYAML's own safe constructor, so ints, floats, nulls and
        # booleans resolve exactly as yaml.safe_load would resolve them.
        self.loader = yaml.SafeLoader("")

    def fail(self, node: yaml.Node, path: KeyPath, what: str) -> SpecError:
        where = f"{self.source}:{node.start_mark.line + 1}" if self.with_lines else self.source
        return SpecError(f"{where}: {render_path(path)}: {what}")

    def value(self, node: yaml.Node, path: KeyPath, stack: frozenset[int]) -> Any:
        self.count += 1
        if self.count > _MAX_VALUES:
            raise SpecError(f"{self.source}: aliases expand to more than {_MAX_VALUES} values; "
                            "a spec holds a few hundred")
        if len(path) > MAX_DEPTH:  # aliases nested in aliases
            raise self.fail(node, path[:3], f"aliases nest deeper than {MAX_DEPTH} levels")
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
                    if id(source) in stack:
                        raise self.fail(value_node, path, "`<<` merges a mapping into itself")
                    for key, value in self.mapping(source, path, stack | {id(source)}).items():
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
