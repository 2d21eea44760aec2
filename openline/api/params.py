"""Request parameters: Twilio's PascalCase form fields, parsed and checked at the edge.

Bodies are ``application/x-www-form-urlencoded`` UTF-8; list values repeat the key; GET
filters travel in the query string. Everything past this module sees Python values only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openline.core.errors import TwilioError

MAX_BODY_BYTES = 1 << 20  # far above any Twilio request (Twiml is capped at 4,000 chars)
MAX_FIELDS = 1000
MAX_URL_LENGTH = 4096


class Form:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    @classmethod
    def parse(cls, raw: bytes | str) -> Form:
        text = raw.decode("utf-8", errors="strict") if isinstance(raw, bytes) else raw
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS)
        except ValueError as exc:
            raise TwilioError(20001, f"Malformed form body: {exc}") from exc
        return cls(pairs)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[-1] if values else None

    def getlist(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))

    def names(self) -> list[str]:
        return list(self._values)


# --- value parsers: each takes (parameter name, raw text) and returns the Python value -------

Parser = Callable[[str, str], Any]


def text(name: str, value: str) -> str:
    return value


def http_method(name: str, value: str) -> str:
    upper = value.upper()
    if upper not in ("GET", "POST"):
        raise TwilioError(20001, f"{name} must be GET or POST")
    return upper


def boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise TwilioError(20001, f"{name} must be true or false")


def url(name: str, value: str) -> str | None:
    """An absolute http(s) URL; the empty string clears the setting, as on Twilio."""
    if value == "":
        return None
    if len(value) > MAX_URL_LENGTH:
        raise TwilioError(20001, f"{name} is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TwilioError(20001, f"{name} is not a valid http(s) URL: {value}")
    return value


def integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise TwilioError(20001, f"{name} must be an integer") from None


def optional_sid(prefix: str) -> Parser:
    def parse(name: str, value: str) -> str | None:
        if value == "":
            return None
        if len(value) != 34 or not value.startswith(prefix):
            raise TwilioError(20001, f"{name} must be a {prefix} SID")
        return value

    return parse


def one_of(*choices: str) -> Parser:
    def parse(name: str, value: str) -> str:
        if value not in choices:
            raise TwilioError(20001, f"{name} must be one of: {', '.join(choices)}")
        return value

    return parse


@dataclass(frozen=True, slots=True)
class Field:
    attribute: str
    parse: Parser


def read_fields(form: Form, table: Mapping[str, Field]) -> dict[str, Any]:
    """The fields present in the form, parsed, under their Python attribute names."""
    values: dict[str, Any] = {}
    for name, field in table.items():
        raw = form.get(name)
        if raw is not None:
            values[field.attribute] = field.parse(name, raw)
    return values


def page_size(form: Form) -> int | None:
    raw = form.get("PageSize")
    if raw is None or raw == "":
        return None
    size = integer("PageSize", raw)
    if size < 1:
        raise TwilioError(20001, "PageSize must be at least 1")
    return size


def page_number(form: Form) -> int:
    raw = form.get("Page")
    if raw is None or raw == "":
        return 0
    number = integer("Page", raw)
    if number < 0:
        raise TwilioError(20001, "Page must not be negative")
    return number
