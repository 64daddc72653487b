"""Files the user names, read with a bound, and files written whole or not at all.

A written file goes to a temporary file beside the target, then `os.replace`: a crash, a
full disk or a kill leaves the old file or the new one, never half of one, and the error
is one line naming the file. A file read is refused before reading when it is no regular
file (a device never ends, a pipe blocks) and read no further than its bound.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fnosweep.errors import FnosweepError


@contextmanager
def atomic_path(path: str | os.PathLike[str], what: str = "") -> Iterator[Path]:
    """A temporary path beside `path` for the block to write; moved onto `path` when the
    block succeeds, removed when it fails. `what` names the file in the error line."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, p)
    except OSError as e:
        raise FnosweepError(f"cannot write {what + ' to ' if what else ''}{p}: {e.strerror or e}") from None
    finally:
        with contextlib.suppress(OSError):  # its folder could not be made: nothing was written
            tmp.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike[str], text: str, what: str = "") -> Path:
    """Write `text` (UTF-8) to `path` whole or not at all."""
    with atomic_path(path, what) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def read_bounded(path: Path, limit: int, error: type[FnosweepError], expected: str, source: str = "") -> bytes:
    """At most `limit` + 1 bytes of the regular file `path` (one more than allowed, so the
    caller sees a file past its bound). Any refusal is one `error` line starting with
    `source` (default: the path) and saying the file was to be `expected` ("a YAML spec file")."""
    source = source or str(path)
    if not path.exists():
        raise error(f"{source}: no such file")
    if path.is_dir():
        raise error(f"{source}: is a directory, expected {expected}")
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # /dev/zero never ends; opening a pipe blocks
            raise error(f"{source}: is not a regular file (a device or a pipe?), expected {expected}")
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError as e:  # /proc/self/mem and the like: listed as files, unreadable
        raise error(f"{source}: cannot be read: {e.strerror or e}") from None
