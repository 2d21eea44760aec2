"""The simulated handsets of the sandbox network, as tests, users and the console play them."""

from __future__ import annotations

from collections.abc import Sequence

from openline.core.messaging import HandsetMessage, Message
from openline.services.inbound import InboundService
from openline.services.urls import PublicUrl
from openline.storage.database import Database
from openline.storage.repositories.messaging import HandsetRepository, MediaRepository


class Handsets:
    def __init__(self, db: Database, handsets: HandsetRepository, media: MediaRepository,
                 inbound: InboundService, urls: PublicUrl) -> None:
        self._db = db
        self._handsets = handsets
        self._media = media
        self._inbound = inbound
        self._urls = urls

    async def send(self, account_sids: Sequence[str], from_addr: str | None, to: str | None, body: str,
                   media_urls: Sequence[str], profile_name: str | None = None) -> Message:
        return await self._inbound.inject(account_sids, from_addr, to, body, media_urls, profile_name)

    async def inbox(self, handset: str, account_sids: Sequence[str], size: int, offset: int
                    ) -> tuple[list[tuple[HandsetMessage, list[tuple[str, str]]]], bool]:
        async with self._db.read() as conn:
            items, more = await self._handsets.inbox(conn, handset, account_sids, size, offset)
            result = []
            for item in items:
                media = await self._media.for_message(conn, item.message_sid)
                result.append((item, [(self._urls.media(m.account_sid, m.message_sid, m.sid), m.content_type)
                                      for m in media]))
        return result, more
