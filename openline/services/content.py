"""Content v1 (``HX…`` templates): create, read, delete, WhatsApp approval, rendering for a send."""

from __future__ import annotations

import json
import re
from typing import Any

from openline.core.clock import Clock
from openline.core.content import WHATSAPP_CATEGORIES, Rendered, check_types, check_variables, render
from openline.core.entities import Account
from openline.core.errors import TwilioError
from openline.core.messaging import Content
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.messaging import ContentRepository

MAX_NAME = 255
TEMPLATE_NAME = r"^[a-z0-9_]{1,512}$"  # WhatsApp template names: lowercase, digits, underscores


class ContentService:
    def __init__(self, db: Database, clock: Clock, contents: ContentRepository) -> None:
        self._db = db
        self._clock = clock
        self._contents = contents

    async def create(self, account: Account, payload: Any) -> Content:
        if not isinstance(payload, dict):
            raise TwilioError(20001, "Send the content as a JSON object (Content-Type: application/json)")
        name = payload.get("friendly_name") or ""
        language = payload.get("language")
        if not isinstance(name, str) or len(name) > MAX_NAME:
            raise TwilioError(20001, f"friendly_name must be a string of at most {MAX_NAME} characters")
        if not isinstance(language, str) or not 2 <= len(language) <= 16:
            raise TwilioError(20001, "language is required (a language code such as en or en_US)")
        types = check_types(payload.get("types"))
        variables = check_variables(payload.get("variables"))
        now = self._clock.now()
        content = Content(new_sid(SidPrefix.CONTENT), account.sid, name, language, json.dumps(variables),
                          json.dumps(types), now, now)
        async with self._db.transaction() as conn:
            await self._contents.insert(conn, content)
        return content

    async def get(self, account: Account, sid: str) -> Content:
        async with self._db.read() as conn:
            content = await self._contents.get(conn, sid, account_sids=[account.sid]) if is_sid(sid) else None
        if content is None:
            raise not_found(f"The requested resource /Content/{sid} was not found")
        return content

    async def page(self, account: Account, size: int, cursor: Cursor) -> Page[Content]:
        async with self._db.read() as conn:
            return await self._contents.page_for(conn, account.sid, size, cursor)

    async def delete(self, account: Account, sid: str) -> None:
        await self.get(account, sid)
        async with self._db.transaction() as conn:
            await self._contents.delete(conn, sid)

    async def request_whatsapp_approval(self, account: Account, sid: str, payload: Any) -> Content:
        """Record the WhatsApp template this content is approved as.

        Templates are approved by Meta in WhatsApp Manager, not through Openline: naming one here
        tells Openline to send this content as that template (approved at once).
        """
        await self.get(account, sid)
        if not isinstance(payload, dict):
            raise TwilioError(20001, "Send name and category as a JSON object (Content-Type: application/json)")
        name, category = payload.get("name"), str(payload.get("category") or "").upper()
        if not isinstance(name, str) or not re.fullmatch(TEMPLATE_NAME, name):
            raise TwilioError(20001, "name must be the WhatsApp template name (lowercase letters, digits, _)")
        if category not in WHATSAPP_CATEGORIES:
            raise TwilioError(20001, f"category must be one of {', '.join(WHATSAPP_CATEGORIES)}")
        ttl = payload.get("send_ttl_seconds")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0):
            raise TwilioError(20001, "send_ttl_seconds must be a positive whole number of seconds")
        approval = json.dumps({"name": name, "category": category, "status": "approved", "send_ttl_seconds": ttl})
        now = self._clock.now()
        async with self._db.transaction() as conn:
            updated = await self._contents.update(conn, sid, {"whatsapp_approval": approval, "date_updated": now})
        assert updated is not None
        return updated

    async def rendered(self, conn: Conn, account_sid: str, sid: str, variables: str | None) -> Rendered:
        """What a message sent with this content says (inside the sender's transaction)."""
        content = await self._contents.get(conn, sid, account_sids=[account_sid]) if is_sid(sid, SidPrefix.CONTENT) \
            else None
        if content is None:
            raise TwilioError(21655, f"ContentSid {sid} is not a Content resource of this account")
        return render(content.types, content.variables, content.language, content.whatsapp_approval,
                      check_variables(variables, "ContentVariables"))
