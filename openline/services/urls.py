"""The server's public base URL, known for sure only once it listens (``--port 0``)."""

from __future__ import annotations


class PublicUrl:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def set(self, base: str) -> None:
        self.base = base.rstrip("/")

    def media(self, account_sid: str, message_sid: str, media_sid: str) -> str:
        return f"{self.base}/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}"
