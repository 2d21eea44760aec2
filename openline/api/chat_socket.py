"""The web chat WebSocket (``/v1/Chat/ws`` under the conversations product) and the widget script.

One :class:`ChatSession` per socket: a reader that turns frames into use cases
(``services.web_chat``) one at a time, in order, and a writer that drains a bounded outbox.
Server-pushed events (``services.chat_hub``) go into the same outbox, so a slow browser cannot
make Openline buffer without bound: when the outbox is full the socket is closed (4429) and
the browser reconnects and asks for history. A bad frame is answered with an error frame and
costs that frame only. The protocol itself is ``core.chat_protocol`` (docs/chat-protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from openline.core import chat_protocol as proto
from openline.core.errors import TwilioError
from openline.services.access_tokens import ChatIdentity
from openline.services.chat_hub import ChatHub, Subscription
from openline.services.web_chat import Membership, WebChat
from openline.storage.database import DatabaseBusy

log = logging.getLogger("openline.chat")

WS_PATH = "/v1/Chat/ws"
WIDGET_PATH = "/chat/widget.js"
MAX_SOCKETS = 10_000  # per process; beyond it new sockets are refused with 1013 (try again later)
MAX_AUTH_FAILURES = 3  # wrong tokens on one socket before it is closed

CLOSE_AUTH = 4401  # too many failed auth frames, or the token expired
CLOSE_AUTH_TIMEOUT = 4408  # no auth frame within AUTH_TIMEOUT_SECONDS
CLOSE_SLOW_READER = 4429  # the outbox overflowed: reconnect and fetch history
CLOSE_TRY_LATER = 1013  # the process has MAX_SOCKETS sockets already


class _Joined:
    def __init__(self, membership: Membership, subscription: Subscription) -> None:
        self.membership = membership
        self.subscription = subscription
        self.typing_at = 0.0


class ChatSession:
    def __init__(self, websocket: WebSocket, chat: WebChat, hub: ChatHub) -> None:
        self._ws = websocket
        self._chat = chat
        self._hub = hub
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(proto.OUTBOX_FRAMES)
        self._who: ChatIdentity | None = None
        self._joined: dict[str, _Joined] = {}  # by conversation SID
        self._aliases: dict[str, str] = {}  # unique name -> SID, as the client named it
        now = time.monotonic()
        self._frames = proto.TokenBucket(proto.FRAMES_PER_SECOND, proto.BURST_FRAMES, now)
        self._sends = proto.TokenBucket(proto.SENDS_PER_SECOND, 2 * proto.SENDS_PER_SECOND, now)
        self._auth_failures = 0
        self._started = now
        self._close_code: int | None = None

    # --- outbox ------------------------------------------------------------------------------

    def push(self, frame: dict[str, Any]) -> None:
        """Queue a frame for the writer; never blocks (the hub calls this for every socket)."""
        if self._close_code is not None:
            return
        try:
            self._outbox.put_nowait(proto.encode(frame))
        except asyncio.QueueFull:
            self._close(CLOSE_SLOW_READER)

    def _error(self, error: TwilioError | proto.FrameError, request_id: str | None) -> None:
        status = error.status if isinstance(error, TwilioError) else 400
        self.push(proto.error_frame(error.code, error.message, status, request_id))

    async def _writer(self) -> None:
        while True:
            text = await self._outbox.get()
            if text is None:
                break
            await self._ws.send_text(text)
        if self._close_code is not None:
            with contextlib.suppress(Exception):
                await self._ws.close(self._close_code)

    # --- reader ------------------------------------------------------------------------------

    def _timeout(self) -> float | None:
        if self._who is None:
            return max(0.0, self._started + proto.AUTH_TIMEOUT_SECONDS - time.monotonic())
        return max(0.0, self._who.expires - time.time())

    async def run(self) -> None:
        """Until the peer leaves, or the writer has closed the socket (overflow, expiry, auth)."""
        writer = asyncio.create_task(self._writer(), name="chat-writer")
        reader = asyncio.create_task(self._reader(), name="chat-reader")
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for joined in self._joined.values():
                self._hub.unsubscribe(joined.subscription)
            self._joined.clear()
            reader.cancel()
            if self._close_code is None:  # the peer left: nothing more to say
                writer.cancel()
            # Otherwise the writer sends what is due (an error frame) and closes with the code.
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.gather(reader, writer, return_exceptions=True), 2.0)

    async def _reader(self) -> None:
        try:
            while self._close_code is None:
                try:
                    message = await asyncio.wait_for(self._ws.receive(), self._timeout())
                except TimeoutError:
                    if self._who is None:
                        self._close(CLOSE_AUTH_TIMEOUT)
                    else:
                        self._error(TwilioError(20104, "The access token has expired"), None)
                        self._close(CLOSE_AUTH)
                    return
                if message["type"] == "websocket.disconnect":
                    return
                await self._frame(message.get("text"), message.get("bytes"))
        except (WebSocketDisconnect, RuntimeError):  # the peer went away mid-answer
            return

    def _close(self, code: int) -> None:
        """Stop the writer after what it is sending now; it then closes the socket with ``code``."""
        if self._close_code is None:
            self._close_code = code
            try:
                self._outbox.put_nowait(None)
            except asyncio.QueueFull:  # a slow reader: drop what is queued (the writer re-reads the attribute)
                self._outbox = asyncio.Queue(1)
                self._outbox.put_nowait(None)

    async def _frame(self, text: str | None, data: bytes | None) -> None:
        if not self._frames.take(time.monotonic()):
            self._error(TwilioError(20429, f"More than {proto.FRAMES_PER_SECOND} frames a second"), None)
            return
        try:
            request = proto.parse_request(text if text is not None else data or b"")
        except proto.FrameError as exc:
            self._error(exc, exc.request_id)
            return
        try:
            await self._handle(request)
        except TwilioError as exc:
            self._error(exc, request.id)
        except DatabaseBusy:
            self._error(TwilioError(20429, "Openline is busy: retry"), request.id)
        except Exception:  # a fault of ours costs this request, not the socket
            log.exception("web chat request %s failed", type(request).__name__)
            self._error(TwilioError(20500, "Internal error: the request was not completed"), request.id)

    async def _handle(self, request: proto.Request) -> None:
        if isinstance(request, proto.Ping):
            self.push({"type": "pong", "id": request.id})
            return
        if isinstance(request, proto.Auth):
            await self._auth(request)
            return
        if self._who is None:
            raise TwilioError(20101, "Send an auth frame with an access token first")
        if isinstance(request, proto.Join):
            await self._join(self._who, request)
            return
        joined = self._find(request.conversation)
        if isinstance(request, proto.Leave):
            self._hub.unsubscribe(joined.subscription)
            del self._joined[joined.membership.conversation.sid]
            self._aliases = {k: v for k, v in self._aliases.items() if v != joined.membership.conversation.sid}
            self.push({"type": "left", "id": request.id, "conversation": joined.membership.conversation.sid})
        elif isinstance(request, proto.Send):
            if not self._sends.take(time.monotonic()):
                raise TwilioError(20429, f"More than {proto.SENDS_PER_SECOND} messages a second")
            view = await self._chat.send(self._who, joined.membership.conversation.sid, request.body,
                                         request.attributes)
            self.push({"type": "sent", "id": request.id, "conversation": joined.membership.conversation.sid,
                       "message": proto.message_json(view.message)})
        elif isinstance(request, proto.Update | proto.Remove) and not self._sends.take(time.monotonic()):
            raise TwilioError(20429, f"More than {proto.SENDS_PER_SECOND} message changes a second")
        elif isinstance(request, proto.Update):
            view = await self._chat.update(self._who, joined.membership.conversation.sid, request.message,
                                           request.body, request.attributes)
            self.push({"type": "updated", "id": request.id, "conversation": joined.membership.conversation.sid,
                       "message": proto.message_json(view.message)})
        elif isinstance(request, proto.Remove):
            index = await self._chat.remove(self._who, joined.membership.conversation.sid, request.message)
            self.push({"type": "removed", "id": request.id, "conversation": joined.membership.conversation.sid,
                       "message": {"sid": request.message, "index": index}})
        elif isinstance(request, proto.History):
            page = await self._chat.history(self._who, joined.membership.conversation.sid, request.before,
                                            request.limit)
            self.push({"type": "history", "id": request.id, "conversation": joined.membership.conversation.sid,
                       "messages": [proto.message_json(v.message) for v in page.messages],
                       "has_more": page.has_more})
        elif isinstance(request, proto.Typing):
            now = time.monotonic()
            if now - joined.typing_at >= proto.TYPING_INTERVAL_SECONDS:  # more often is dropped, silently
                joined.typing_at = now
                member = await self._chat.membership(self._who, joined.membership.conversation.sid)
                await self._chat.typing(self._who, member)
        elif isinstance(request, proto.Read):
            participant = await self._chat.read(self._who, joined.membership.conversation.sid, request.index)
            self.push({"type": "ok", "id": request.id, "conversation": participant.conversation_sid,
                       "last_read_message_index": participant.last_read_message_index})

    def _find(self, conversation: str) -> _Joined:
        sid = self._aliases.get(conversation, conversation)
        joined = self._joined.get(sid)
        if joined is None:
            raise TwilioError(20001, f"Join conversation {conversation} on this socket first")
        return joined

    async def _auth(self, request: proto.Auth) -> None:
        try:
            who = await self._chat.authenticate(request.token)
        except TwilioError as exc:
            self._auth_failures += 1
            self._error(exc, request.id)
            if self._auth_failures >= MAX_AUTH_FAILURES:
                self._close(CLOSE_AUTH)
            return
        if self._who is not None and (who.account.sid, who.service.sid, who.identity) != (
                self._who.account.sid, self._who.service.sid, self._who.identity):
            raise TwilioError(20103, "A new token on this socket must be for the same identity and service")
        self._who = who
        self.push({"type": "ready", "id": request.id, "identity": who.identity, "account_sid": who.account.sid,
                   "service_sid": who.service.sid, "expires": int(who.expires)})

    async def _join(self, who: ChatIdentity, request: proto.Join) -> None:
        if len(self._joined) >= proto.MAX_JOINED and self._aliases.get(request.conversation,
                                                                        request.conversation) not in self._joined:
            raise TwilioError(20001, f"A socket follows at most {proto.MAX_JOINED} conversations")
        joined = await self._chat.join(who, request.conversation)
        sid = joined.conversation.sid
        if request.conversation != sid:
            self._aliases[request.conversation] = sid
        self.push({"type": "joined", "id": request.id, "conversation": proto.conversation_json(joined.conversation),
                   "participant": proto.participant_json(joined.participant),
                   "participants": [proto.participant_json(p) for p in joined.participants]})
        current = self._joined.get(sid)
        if current is not None:
            if current.subscription.participant_sid == joined.participant.sid and self._hub.follows(
                    current.subscription):
                return  # joined already: the socket keeps its place in the stream
            self._hub.unsubscribe(current.subscription)  # removed and added again: a fresh start
        subscription = Subscription(self.push, joined.conversation.account_sid, sid, joined.participant.sid,
                                    joined.conversation.last_index)
        self._joined[sid] = _Joined(Membership(joined.conversation, joined.participant), subscription)
        self._hub.subscribe(subscription)


class ChatEndpoint:
    """The ASGI endpoint for ``/v1/Chat/ws``."""

    def __init__(self, chat: WebChat, hub: ChatHub) -> None:
        self._chat = chat
        self._hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        if self._hub.sockets >= MAX_SOCKETS:
            await websocket.close(CLOSE_TRY_LATER)
            return
        await websocket.accept()
        self._hub.sockets += 1
        try:
            await ChatSession(websocket, self._chat, self._hub).run()
        finally:
            self._hub.sockets -= 1


def _widget_source() -> bytes:
    return resources.files("openline.api").joinpath("static/chat-widget.js").read_bytes()


def routes(chat: WebChat, hub: ChatHub) -> list[WebSocketRoute]:
    """Routes for the conversations product (the socket)."""
    return [WebSocketRoute(WS_PATH, ChatEndpoint(chat, hub))]


def widget_routes() -> list[Route]:
    """``/chat/widget.js``: the embeddable script (read once; it is part of the package)."""
    source = _widget_source()

    async def widget(request: Request) -> Response:
        # Any site may embed it: the script carries no secret, the token does the authorising.
        return Response(source, media_type="text/javascript; charset=utf-8", headers={
            "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff"})

    return [Route(WIDGET_PATH, widget, methods=["GET", "HEAD"])]
