"""Keyset paging behind Twilio's PageToken.

Lists run newest first over the internal row id. A token names the row id a page ends at:
``PA<hex>`` continues after it, ``PB<hex>`` goes back before it. Every query also filters by
the caller's accounts, so a token taken from someone else's listing reveals nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGE_SIZE = 1000  # Twilio's documented maximum; the SDK sends PageSize=limit unclamped
DEFAULT_PAGE_SIZE = 50
_TOKEN_RE = re.compile(r"^P([AB])([0-9a-f]{1,16})$")


class PageTokenError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cursor:
    after_id: int | None = None  # rows with a smaller id (older)
    before_id: int | None = None  # rows with a larger id (newer)

    @classmethod
    def parse(cls, token: str | None) -> Cursor:
        if not token:
            return cls()
        match = _TOKEN_RE.match(token)
        if not match:
            raise PageTokenError(token)
        value = int(match.group(2), 16)
        return cls(after_id=value) if match.group(1) == "A" else cls(before_id=value)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None
    previous_token: str | None


def after_token(row_id: int) -> str:
    return f"PA{row_id:x}"


def before_token(row_id: int) -> str:
    return f"PB{row_id:x}"


def clamp_page_size(value: int | None) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    return max(1, min(MAX_PAGE_SIZE, value))
