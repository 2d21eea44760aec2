"""Shared lexical helpers: parameter lists, quoting and comma splitting (RFC 3261 §25.1).

Parameters are kept as an ordered tuple of ``(name, value)`` pairs, ``value`` None for a flag
parameter (``;lr``, ``;rport``), so serialisation gives back what was parsed. Names compare
case-insensitively (§7.3.1) through :func:`get_param`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from openline.codecs.sip.errors import SipParseError

__all__ = [
    "Params",
    "format_params",
    "get_param",
    "has_param",
    "is_token",
    "parse_params",
    "quote",
    "set_param",
    "split_commas",
    "unquote",
]

Params = tuple[tuple[str, str | None], ...]

# token chars per §25.1: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
TOKEN_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
# param values may also carry the characters of hosts (IPv6 "[", "]", ":") and URI params
_PARAM_VALUE_EXTRA: Final = frozenset("[]:/&$")


def is_token(text: str) -> bool:
    return bool(text) and all(c in TOKEN_CHARS for c in text)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(text: str) -> str:
    """The content of a quoted-string (§25.1), or the text itself if it is not quoted."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        out: list[str] = []
        i, body = 0, text[1:-1]
        while i < len(body):
            c = body[i]
            if c == "\\":
                if i + 1 >= len(body):
                    raise SipParseError("dangling backslash in quoted-string")
                out.append(body[i + 1])
                i += 2
                continue
            if c == '"':
                raise SipParseError("unescaped quote inside quoted-string")
            out.append(c)
            i += 1
        return "".join(out)
    if text.startswith('"') or text.endswith('"'):
        raise SipParseError(f"unbalanced quotes: {text!r}")
    return text


def _scan(text: str, separators: str) -> Iterator[str]:
    """Split ``text`` at any of ``separators`` outside quoted strings and <...>."""
    start, i, depth, n = 0, 0, 0, len(text)
    in_quote = False
    while i < n:
        c = text[i]
        if in_quote:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quote = False
        elif c == '"':
            in_quote = True
        elif c == "<":
            depth += 1
        elif c == ">":
            depth = max(0, depth - 1)
        elif depth == 0 and c in separators:
            yield text[start:i]
            start = i + 1
        i += 1
    if in_quote:
        raise SipParseError(f"unterminated quoted-string in {text[:60]!r}")
    yield text[start:]


def split_commas(text: str) -> list[str]:
    """Split a header value holding a comma-separated list (§7.3.1) into its elements."""
    parts = [p.strip() for p in _scan(text, ",")]
    if any(not p for p in parts):
        raise SipParseError(f"empty element in list {text[:60]!r}")
    return parts


def parse_params(text: str) -> Params:
    """Parse ``;name=value;flag`` (text starts at the first ``;`` or is empty)."""
    text = text.strip()
    if not text:
        return ()
    if not text.startswith(";"):
        raise SipParseError(f"expected ';' before parameters, got {text[:40]!r}")
    out: list[tuple[str, str | None]] = []
    for raw in list(_scan(text[1:], ";")):
        part = raw.strip()
        if not part:
            raise SipParseError("empty parameter")
        name, eq, value = part.partition("=")
        name = name.strip()
        if not is_token(name):
            raise SipParseError(f"bad parameter name {name!r}")
        if not eq:
            out.append((name, None))
            continue
        value = value.strip()
        if value.startswith('"'):
            unquote(value)  # validates; the quoted form is kept so it serialises back unchanged
        elif not value or not all(c in TOKEN_CHARS or c in _PARAM_VALUE_EXTRA for c in value):
            raise SipParseError(f"bad value for parameter {name!r}: {value!r}")
        out.append((name, value))
    return tuple(out)


def format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def get_param(params: Params, name: str, default: str | None = None) -> str | None:
    """The value of ``name`` (case-insensitive); ``""`` for a flag; ``default`` if absent."""
    lname = name.lower()
    for k, v in params:
        if k.lower() == lname:
            return "" if v is None else unquote(v)
    return default


def has_param(params: Params, name: str) -> bool:
    lname = name.lower()
    return any(k.lower() == lname for k, _ in params)


def set_param(params: Params, name: str, value: str | None) -> Params:
    """``params`` with ``name`` replaced (or appended); the value is serialised as given."""
    lname = name.lower()
    kept = tuple((k, v) for k, v in params if k.lower() != lname)
    return (*kept, (name, value))
