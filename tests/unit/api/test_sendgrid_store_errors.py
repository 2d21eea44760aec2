"""A store failure under the SendGrid API answers in SendGrid's error shape, never a bare 500."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.responses import Response

from openline.api.sendgrid.framework import SgCall, SgOperation, build_sendgrid_routes
from openline.services.auth import Authenticator
from openline.services.email_keys import EmailKeys, EmailPrincipal
from openline.storage.database import DatabaseBusy


class _Keys:
    async def authenticate(self, key: str) -> EmailPrincipal:
        return EmailPrincipal(account=cast(Any, None), key_id="k", scopes=frozenset({"mail.send"}))


async def _locked(call: SgCall) -> Response:
    raise OperationalError("INSERT", {}, Exception("database is locked"))


async def _busy(call: SgCall) -> Response:
    raise DatabaseBusy()


@pytest.mark.parametrize(("handler", "status"), [(_locked, 503), (_busy, 429)])
async def test_store_failures_answer_in_sendgrid_shape(handler: Any, status: int) -> None:
    routes = build_sendgrid_routes([SgOperation("POST", "/v3/mail/send", handler, "mail.send")],
                                   cast(EmailKeys, _Keys()), cast(Authenticator, None))
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://sg") as client:
        answer = await client.post("/v3/mail/send", json={}, headers={"Authorization": "Bearer SG.x"})
    assert answer.status_code == status
    assert set(answer.json()["errors"][0]) == {"message", "field", "help"}
    if status == 503:
        assert answer.headers["retry-after"] == "1"
