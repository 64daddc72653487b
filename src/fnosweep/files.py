"""Files written whole or not at all: a temporary file beside the target, then `os.replace`.

A crash, a full disk or a kill leaves the old file or the new one, never half of one,
and the error is one line naming the file.
"""

from __future__ import annotations

import contextlib
import os
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
