"""The HTTP side of the chat adapters: one pooled client, JSON in and out."""

from __future__ import annotations

import httpx

from openline.codecs.chat import ChatRequest
from openline.services.carriers import ChatLinkError

MAX_ANSWER_BYTES = 256 * 1024  # platform answers are small JSON objects


class ChatHttpClient:
    """Sends chat-platform API requests. The base URLs are operator configuration, so they are not
    subject to the webhook SSRF guard (a fake provider on loopback is a normal test setup)."""

    def __init__(self, timeout: float = 15.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0), follow_redirects=False,
                                         transport=transport)

    async def send(self, base_url: str, request: ChatRequest) -> tuple[int, bytes]:
        try:
            response = await self._client.request(request.method, base_url.rstrip("/") + request.path,
                                                  params=request.query or None, headers=request.headers,
                                                  json=request.body if request.method != "GET" else None)
        except httpx.HTTPError as exc:
            raise ChatLinkError(f"{type(exc).__name__}: {exc}") from None
        return response.status_code, response.content[:MAX_ANSWER_BYTES]

    async def download(self, url: str, headers: dict[str, str], limit: int) -> tuple[int, str | None, bytes]:
        try:
            async with self._client.stream("GET", url, headers=headers, follow_redirects=True) as response:
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > limit:
                        raise ChatLinkError(f"{url} is larger than {limit} bytes")
                content_type = response.headers.get("content-type")
                return (response.status_code, content_type.split(";")[0].strip() if content_type else None,
                        bytes(data))
        except httpx.HTTPError as exc:
            raise ChatLinkError(f"{type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        await self._client.aclose()
