"""Where a parse is: it turns a problem at a key path into one `SpecError` line,
`<file>:<line>: <key path>: <what is wrong>, but got <value>`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fnosweep.errors import SpecError
from fnosweep.spec._yaml import KeyPath, Locator, render_path
from fnosweep.spec.checks import Check, Invalid, show_value


@dataclass(frozen=True)
class ParseContext:
    """Turns a problem at a key path into one SpecError line."""

    locator: Locator

    def fail(self, path: KeyPath, what: str, value: Any = ...) -> SpecError:
        got = "" if value is ... else f", but got {show_value(value)}"
        return SpecError(f"{self.locator.where(path)}: {render_path(path)}: {what}{got}")

    def check(self, check: Check, value: Any, path: KeyPath) -> Any:
        try:
            return check(value)
        except Invalid as e:
            raise self.fail((*path, *e.at), e.what, e.value) from None

    def mapping(self, raw: Any, path: KeyPath, allowed: Sequence[str] | None = None
                ) -> dict[str, Any]:
        """A section as a dict (missing or null → empty), unknown keys refused."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise self.fail(path, "must be a mapping of keys to values", raw)
        for key in raw:
            if not isinstance(key, str):
                raise self.fail((*path, repr(key)), "a key must be a string")
            if allowed is not None and key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                mean = f" (did you mean {hint[0]}?)" if hint else ""
                raise self.fail((*path, key), f"unknown key{mean}, expected one of "
                                f"{', '.join(sorted(allowed))}")
        return dict(raw)

    def fields(self, raw: Mapping[str, Any], path: KeyPath, table: Mapping[str, Check]
               ) -> dict[str, Any]:
        """Checked values of the table's keys present in `raw`."""
        return {k: self.check(c, raw[k], (*path, k)) for k, c in table.items() if k in raw}
