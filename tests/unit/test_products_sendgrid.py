"""SendGrid's product routing: Host api.sendgrid.com, the /sendgrid prefix and bare /v3/."""

from __future__ import annotations

from typing import Any

import pytest

from openline.api.products import ProductRouter


@pytest.mark.parametrize(("host", "path", "product", "seen_path"), [
    ("api.sendgrid.com", "/v3/mail/send", "sendgrid", "/v3/mail/send"),
    ("127.0.0.1:8080", "/sendgrid/v3/mail/send", "sendgrid", "/v3/mail/send"),
    ("127.0.0.1:8080", "/v3/templates", "sendgrid", "/v3/templates"),
    ("127.0.0.1:8080", "/2010-04-01/Accounts.json", "api", "/2010-04-01/Accounts.json"),
    ("127.0.0.1:8080", "/sandbox/v1/Mailboxes/a@b.c/Messages", None, "/sandbox/v1/Mailboxes/a@b.c/Messages"),
])
async def test_routing(host: str, path: str, product: str | None, seen_path: str) -> None:
    seen: list[tuple[str | None, str]] = []

    def app(name: str | None) -> Any:
        async def call(scope: Any, receive: Any, send: Any) -> None:
            seen.append((name, scope["path"]))
        return call

    router = ProductRouter({"api": app("api"), "sendgrid": app("sendgrid")}, app(None), "http://x")
    await router({"type": "http", "path": path, "headers": [(b"host", host.encode())]}, None, None)  # type: ignore[arg-type]
    assert seen == [(product, seen_path)]
