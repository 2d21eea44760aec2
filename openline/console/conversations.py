"""Conversations as threads: the account's conversations, and each one's participants and messages."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from openline.console.web import Console, Ctx, guard
from openline.core.conversations import ChannelType
from openline.core.errors import TwilioError

LISTED = 100  # conversations on the list page, most recently active first
CHANNEL_NAMES = {ChannelType.CHAT.value: "chat", ChannelType.SMS.value: "SMS", ChannelType.WHATSAPP.value: "WhatsApp",
                 ChannelType.MESSENGER.value: "Messenger", ChannelType.TELEGRAM.value: "Telegram",
                 ChannelType.LINE.value: "LINE"}


def routes(console: Console) -> list[Route]:
    async def conversations(ctx: Ctx) -> Response:
        threads = ctx.s.conversations
        items = await threads.recent(ctx.account.sid, LISTED) if threads else []
        return await ctx.render("conversations.html", title="Conversations", nav="conversations", items=items)

    async def conversation(ctx: Ctx) -> Response:
        threads = ctx.s.conversations
        thread = await threads.thread(ctx.account.sid, ctx.path_param("sid")) if threads else None
        if thread is None:
            raise TwilioError(20404)
        sms = {p.sid for p in thread.participants if p.channel is not ChannelType.CHAT}
        return await ctx.render("conversation.html", title=thread.conversation.friendly_name or "Conversation",
                                nav="conversations", t=thread, sms=sms, channels=CHANNEL_NAMES)

    async def agent_chat(ctx: Ctx) -> Response:
        """The agent view: the web chat widget as one of the conversation's chat participants."""
        threads, tokens = ctx.s.conversations, ctx.s.chat_tokens
        thread = await threads.thread(ctx.account.sid, ctx.path_param("sid")) if threads and tokens else None
        identity = ctx.request.query_params.get("identity", "")
        chat = {p.identity for p in thread.participants if p.channel is ChannelType.CHAT} if thread else set()
        if thread is None or tokens is None or identity not in chat:
            raise TwilioError(20404)
        token = tokens.mint_console(ctx.account.sid, thread.conversation.chat_service_sid, identity)
        return await ctx.render("conversation_chat.html", title=f"Chat as {identity}", nav="conversations",
                                c=thread.conversation, identity=identity, token=token)

    return [
        Route("/conversations", guard(console, conversations), methods=["GET"]),
        Route("/conversations/{sid}", guard(console, conversation), methods=["GET"]),
        Route("/conversations/{sid}/chat", guard(console, agent_chat), methods=["GET"]),
    ]
