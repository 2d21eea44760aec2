"""The dev phone: chat as a sandbox handset with one of the account's numbers, several side by side.

Sending injects an inbound message as the handset (the number's webhook runs as for a real
phone); what the account sends to the handset — the app's TwiML replies included — appears
live over one SSE stream per page. The open chats live in the URL (``chat=<number>,<handset>``),
so a page can be bookmarked, reloaded or shared within the account.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openline.console.streams import sse, stream
from openline.console.web import SECURITY_HEADERS, Console, Ctx, guard
from openline.core.entities import IncomingPhoneNumber
from openline.core.errors import TwilioError
from openline.core.numbering import parse_e164
from openline.services.insight import ChatItem, Cursor, Marks

MAX_CHATS = 6
HISTORY = 50
NUMBERS_LISTED = 200
MAX_BODY = 1600  # an SMS body's limit (21617)
STREAM_BATCH = 100
LOOKBACK = 64  # see messages.LOOKBACK
DEFAULT_HANDSET = "+15558675310"
_CURSOR = re.compile(r"^h(\d{1,18})m(\d{1,18})$")


@dataclass(frozen=True, slots=True)
class Chat:
    number: str
    handset: str

    @property
    def key(self) -> str:
        return f"{self.number},{self.handset}"


def _parse_chat(raw: str) -> Chat | None:
    number, _, handset = raw.partition(",")
    n, h = parse_e164(number.strip()), parse_e164(handset.strip())
    return Chat(n.e164, h.e164) if n and h else None


def _chats(values: list[str], owned: set[str]) -> list[Chat]:
    chats: list[Chat] = []
    for raw in values:
        chat = _parse_chat(raw)
        if chat and chat.number in owned and chat not in chats:
            chats.append(chat)
    return chats[:MAX_CHATS]


async def _numbers(ctx: Ctx) -> list[IncomingPhoneNumber]:
    page = await ctx.s.numbers.list(ctx.account, NUMBERS_LISTED, Cursor())
    return [n for n in page.items if n.sms_capable]


def _phone_url(ctx: Ctx, chats: list[Chat]) -> str:
    return f"{ctx.base}/phone" + (("?" + urlencode([("chat", c.key) for c in chats])) if chats else "")


def routes(console: Console) -> list[Route]:
    def bubble(item: ChatItem, chat: Chat) -> Markup:
        return Markup(console.fragment("_bubble.html", {"b": item, "chat": chat}))  # rendered autoescaped

    async def phone(ctx: Ctx) -> Response:
        numbers = await _numbers(ctx)
        owned = {n.phone_number for n in numbers}
        requested = ctx.request.query_params.getlist("chat")
        chats = _chats(requested, owned)
        problem = None
        if ctx.query("number") or ctx.query("handset"):  # the "open a chat" form
            chat = _parse_chat(f"{ctx.query('number')},{ctx.query('handset')}")
            if chat is None:
                problem = "Pick one of your numbers and type the handset's number in E.164 (+15558675310)."
            elif chat.number not in owned:
                problem = "That number is not one of this account's numbers."
            elif chat.number == chat.handset:
                problem = "A handset cannot be one of the account's own numbers."
            elif chat not in chats and len(chats) >= MAX_CHATS:
                problem = f"At most {MAX_CHATS} phones at once: close one first."
            else:
                if chat not in chats:
                    chats.append(chat)
                return ctx.redirect(_phone_url(ctx, chats).removeprefix(ctx.base))
        elif len(chats) < len(requested):
            problem = "Chats with numbers that are not this account's were left out."
        marks = await ctx.s.insight.marks()
        panels = [(chat, await ctx.s.insight.conversation(ctx.account, chat.number, chat.handset, HISTORY))
                  for chat in chats]
        stream_url = None
        if chats:
            query = [("chat", c.key) for c in chats] + [("after", f"h{marks.handset}m{marks.messages}")]
            stream_url = f"{ctx.base}/phone/stream?{urlencode(query)}"
        return await ctx.render("phone.html", title="Dev phone", nav="phone", numbers=numbers, panels=panels,
                                chats=chats, problem=problem, stream_url=stream_url,
                                default_handset=DEFAULT_HANDSET, max_chats=MAX_CHATS, bubble=bubble)

    async def send(ctx: Ctx) -> Response:
        wants_json = "application/json" in ctx.request.headers.get("accept", "")
        chat = _parse_chat(f"{ctx.form.get('number')},{ctx.form.get('handset')}")
        body = ctx.form.get("body")
        error = None
        sent: ChatItem | None = None
        if chat is None:
            error = "The chat's numbers are not valid."
        elif not body:
            error = "Type a message first."
        elif len(body) > MAX_BODY:
            error = f"A message has at most {MAX_BODY} characters."
        else:
            try:
                message = await ctx.s.handsets.send([ctx.account.sid], chat.handset, chat.number, body, [])
                sent = ChatItem(message.sid, True, message.body, message.status.value, message.date_created, 0)
            except TwilioError as exc:
                error = f"{exc.message} (error {exc.code})"
        if wants_json:
            if error or sent is None or chat is None:
                return JSONResponse({"ok": False, "error": error}, 400, headers=SECURITY_HEADERS)
            return JSONResponse({"ok": True, "sid": sent.sid, "html": str(bubble(sent, chat))},
                                headers=SECURITY_HEADERS)
        numbers = await _numbers(ctx)
        chats = _chats(ctx.form.getlist("chat"), {n.phone_number for n in numbers})
        if chat is not None and chat not in chats and chat.number in {n.phone_number for n in numbers}:
            chats.append(chat)
        if error:
            return await ctx.render("error.html", 400, title="Not sent", message=error,
                                    back=_phone_url(ctx, chats))
        return ctx.redirect(_phone_url(ctx, chats[:MAX_CHATS]).removeprefix(ctx.base))

    async def phone_stream(ctx: Ctx) -> Response:
        owned = {n.phone_number for n in await _numbers(ctx)}
        chats = _chats(ctx.request.query_params.getlist("chat"), owned)
        match = _CURSOR.match(ctx.request.headers.get("last-event-id") or "") or _CURSOR.match(ctx.query("after"))
        if match:
            start = (int(match.group(1)), int(match.group(2)))
        else:
            marks = await ctx.s.insight.marks()
            start = (marks.handset, marks.messages)
        state = {"h": start[0], "m": start[1]}
        seen: set[tuple[str, str]] = set()
        insight, account = ctx.s.insight, ctx.account

        async def produce() -> list[str]:
            out: list[str] = []
            after = Marks(max(start[1], state["m"] - LOOKBACK), 0, max(start[0], state["h"] - LOOKBACK))
            new_h, new_m = state["h"], state["m"]
            for chat in chats:
                for item in await insight.conversation_since(account, chat.number, chat.handset, after,
                                                             STREAM_BATCH):
                    if item.sent_by_handset:
                        new_m = max(new_m, item.row_id)
                    else:
                        new_h = max(new_h, item.row_id)
                    if (chat.key, item.sid) in seen:
                        continue
                    seen.add((chat.key, item.sid))
                    out.append(json.dumps({"chat": chat.key, "sid": item.sid, "html": str(bubble(item, chat))}))
            state["h"], state["m"] = new_h, new_m
            return [sse(data, "bubble", f"h{new_h}m{new_m}") for data in out]

        return stream(console.feed, produce)

    return [
        Route("/phone", guard(console, phone), methods=["GET"]),
        Route("/phone/send", guard(console, send), methods=["POST"]),
        Route("/phone/stream", guard(console, phone_stream), methods=["GET"]),
    ]
