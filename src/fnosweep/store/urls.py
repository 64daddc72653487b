"""Storage URLs in messages: every credential hidden, whatever the URL's shape.

`redact` is total: a mistyped or malformed URL (`postgresql:/u:pw@h`, a port `abc`, an
unclosed `[`) is what users paste into messages most, so it is masked by pattern, not by
a URL parser that may refuse it. It masks a userinfo password (`user:***@host`, up to the
last `@` of the word, as a password may hold `@`) and any query or conninfo value whose
key names a secret (`?password=***`, `sslpassword=`, `token=`, ...). Masking a little too
much is the safe side.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(
    r"(?P<head>(?:\b[A-Za-z][A-Za-z0-9+.-]*:/{0,3})?[^\s:/@?#'\"]*):"  # [scheme:/]user:
    r"(?!//)(?P<secret>[^\s'\"]*)@(?=[^\s@'\"]*(?:[\s'\"]|$))"  # password, up to the word's last @
)
_SECRET_KEY = re.compile(
    r"(?P<key>(?:^|[?&;\s])[^\s=&?#;'\"]*(?:pass|pwd|secret|token|key|auth|cred)[^\s=&?#;'\"]*=)"
    r"[^\s&#;'\"]*",
    re.IGNORECASE,
)
MASK = "***"


def redact(text: str) -> str:
    """`text` (a storage URL, or a message holding one) with every credential masked."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", str(text))
    return _SECRET_KEY.sub(lambda m: f"{m['key']}{MASK}", text)


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
