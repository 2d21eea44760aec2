"""List envelopes: the 2010-04-01 page shape and the v1/v2 ``meta`` shape.

2010 links are relative and carry no product prefix (the SDK joins them to its own base
URL); v1/v2 links are absolute (the SDK requests them as they are). See the brief §1, §3.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from openline.api.framework import Call
from openline.api.params import page_number, page_size
from openline.core.errors import TwilioError
from openline.storage.paging import Cursor, Page, PageTokenError, clamp_page_size

_PAGING = ("PageSize", "Page", "PageToken")


class PageRequest:
    """PageSize/Page/PageToken as the client sent them."""

    def __init__(self, call: Call) -> None:
        self.size = clamp_page_size(page_size(call.form))
        self.number = page_number(call.form)
        try:
            self.cursor = Cursor.parse(call.form.get("PageToken"))
        except PageTokenError:
            raise TwilioError(20001, "PageToken is not valid") from None
        self._call = call

    def _query(self, page: int, token: str | None) -> str:
        filters = [(k, v) for k in self._call.form.names() if k not in _PAGING for v in self._call.form.getlist(k)]
        pairs = [*filters, ("PageSize", str(self.size)), ("Page", str(page))]
        if token:
            pairs.append(("PageToken", token))
        return urlencode(pairs)

    def envelope_2010(self, key: str, items: list[dict[str, Any]], page: Page[Any]) -> dict[str, Any]:
        path = self._call.request.url.path
        start = self.number * self.size
        return {
            "first_page_uri": f"{path}?{self._query(0, None)}",
            "end": start + max(len(items) - 1, 0),
            "previous_page_uri": (f"{path}?{self._query(self.number - 1, page.previous_token)}"
                                  if page.previous_token else None),
            key: items,
            "uri": f"{path}?{self._query(self.number, self._call.form.get('PageToken'))}",
            "page_size": self.size,
            "start": start,
            "next_page_uri": f"{path}?{self._query(self.number + 1, page.next_token)}" if page.next_token else None,
            "page": self.number,
        }

    def envelope_meta(self, key: str, items: list[dict[str, Any]], page: Page[Any]) -> dict[str, Any]:
        base = self._call.links.external_base + self._call.request.url.path
        return {
            key: items,
            "meta": {
                "page": self.number,
                "page_size": self.size,
                "first_page_url": f"{base}?{self._query(0, None)}",
                "previous_page_url": (f"{base}?{self._query(self.number - 1, page.previous_token)}"
                                      if page.previous_token else None),
                "url": f"{base}?{self._query(self.number, self._call.form.get('PageToken'))}",
                "next_page_url": (f"{base}?{self._query(self.number + 1, page.next_token)}"
                                  if page.next_token else None),
                "key": key,
            },
        }
