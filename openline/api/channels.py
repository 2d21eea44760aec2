"""Chat platforms' webhooks: where WhatsApp, Messenger, Telegram and LINE deliver events.

* ``GET /channels/whatsapp/webhook`` and ``GET /channels/messenger/webhook``: Meta's
  subscription check (``hub.mode=subscribe``, ``hub.verify_token``, ``hub.challenge``), answered
  with the challenge, or 403.
* ``POST /channels/{whatsapp,messenger,telegram,line}/webhook``: the platform's notifications,
  authenticated by its signature or secret header (missing: 401, wrong: 403, nothing stored);
  200 once what they carry is stored. A channel that is not configured answers 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from openline.codecs.chat.events import MAX_WEBHOOK_BODY
from openline.core.channels import Channel
from openline.services.channel_inbound import ChannelWebhooks, WebhookRejected


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_WEBHOOK_BODY:
        raise WebhookRejected(413, "body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BODY:
            raise WebhookRejected(413, "body too large")
    return bytes(body)


def _rejected(error: WebhookRejected) -> Response:
    return PlainTextResponse(error.reason, status_code=error.status)


def routes(webhooks: ChannelWebhooks) -> list[Route]:
    def challenge(channel: Channel) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            q = request.query_params
            try:
                return PlainTextResponse(webhooks.challenge(channel, q.get("hub.mode"), q.get("hub.verify_token"),
                                                            q.get("hub.challenge")))
            except WebhookRejected as error:
                return _rejected(error)
        return endpoint

    def notify(handler: Callable[[bytes, str | None], Awaitable[None]], header: str
               ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                await handler(await _body(request), request.headers.get(header))
            except WebhookRejected as error:
                return _rejected(error)
            return PlainTextResponse("ok")
        return endpoint

    return [
        Route("/channels/whatsapp/webhook", challenge(Channel.WHATSAPP), methods=["GET"]),
        Route("/channels/whatsapp/webhook", notify(webhooks.whatsapp, "x-hub-signature-256"), methods=["POST"]),
        Route("/channels/messenger/webhook", challenge(Channel.MESSENGER), methods=["GET"]),
        Route("/channels/messenger/webhook", notify(webhooks.messenger, "x-hub-signature-256"), methods=["POST"]),
        Route("/channels/telegram/webhook", notify(webhooks.telegram, "x-telegram-bot-api-secret-token"),
              methods=["POST"]),
        Route("/channels/line/webhook", notify(webhooks.line, "x-line-signature"), methods=["POST"]),
    ]
