"""Wire formats for timestamps.

The 2010-04-01 API uses RFC 2822 in GMT (``Thu, 24 Aug 2023 05:01:45 +0000``); the newer
v1/v2 APIs use ISO 8601 with a ``Z`` and whole seconds. The SDK parses both strictly, so
anything else silently becomes ``None`` on the client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime


def rfc2822(value: datetime | None) -> str | None:
    if value is None:
        return None
    return format_datetime(value.astimezone(UTC).replace(microsecond=0))


def iso8601(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")




def parse_filter_date(text: str) -> datetime:
    """Dates in list filters: ``YYYY-MM-DD`` or full ISO 8601 (the SDK sends the latter)."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
