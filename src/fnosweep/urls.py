"""Storage URLs in messages: every credential hidden, whatever the URL's shape; and the
shape a spec's URL must have, checked without a database library (the spec stays light).

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


_URL = re.compile(  # the shape SQLAlchemy's make_url reads (a password may hold / but not @)
    r"(?P<scheme>[\w+]+)://"
    r"(?:(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?"
    r"(?:(?:\[(?P<ipv6>[^/?]+)\]|(?P<host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?"
    r"(?:/(?P<database>[^?]*))?(?:\?(?P<query>.*))?",
    re.S,
)


def shape_problem(url: str) -> str | None:
    """What is wrong with the shape of a database URL (`scheme://[user[:pw]@]host[:port]/db`),
    or None. Only the shape: whether a database answers there is the store's to find out."""
    if not re.match(r"[\w+]+://", url):
        return "no database type before ://"
    if "[" in url and "]" not in url:
        return "unclosed [ of an IPv6 host"
    m = _URL.fullmatch(url)
    if m is None:
        return "not of the form scheme://user@host:port/database (an unclosed [ ?)"
    if m["port"] and not m["port"].isdigit():
        return "port must be a number"
    return None
