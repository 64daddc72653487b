"""Whether SQLAlchemy can read a storage URL (the store's own check, before it connects)."""

from __future__ import annotations

from fnosweep.urls import redact


def url_problem(url: str) -> str | None:
    """Why SQLAlchemy cannot read `url` as a database URL, or None when it can."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "no database type before ://"
    except ValueError as e:  # a port that is not a number, an unclosed [ of an IPv6 host, ...
        return "port must be a number" if "int()" in str(e) else redact(str(e).splitlines()[0])
    return None if parsed.drivername else "no database type before ://"
