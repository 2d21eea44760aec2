"""Conversations webhooks: pre-events that may block or change an action, post-events that report it.

Where events go (Twilio's "Conversations Webhooks" page):

* the account's global webhooks (``/v1/Configuration/Webhooks``) and the conversation service's
  (``/v1/Services/{IS}/Configuration/Webhooks``): a ``PreWebhookUrl`` and a ``PostWebhookUrl``
  with ``Filters`` naming the events each wants. Both fire when both are set [CHOSEN].
* conversation-scoped webhooks (``/v1/Conversations/{CH}/Webhooks``): post-events of that
  conversation; ``target=trigger`` ones only for messages whose body holds one of their words.

A pre-event is one signed request made while the action waits (5 seconds at most, Twilio's
limit): a non-2xx answer blocks the action; a 2xx JSON object answer changes it (its keys name
the fields, e.g. ``{"body": "..."}``); any other 2xx lets it through unchanged. A pre-event that
cannot be delivered at all (no connection, timeout) lets the action through and raises an
alert [CHOSEN: Twilio documents only the answer cases]. A post-event is a durable job queued in
the action's own transaction, so a committed action always gets reported.

Actions taken through the REST API fire webhooks only when the request carries
``X-Twilio-Webhook-Enabled: true``, as on Twilio; actions from SMS always fire them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openline.core.clock import Clock
from openline.core.conversations import (
    PRE_EVENT_TIMEOUT_MS,
    AccountConfig,
    ChatService,
    Conversation,
    ConversationMessage,
    Participant,
    Source,
    json_list,
)
from openline.core.dates import iso8601
from openline.services.alerts import AlertService
from openline.services.webhooks import WebhookCall, WebhookCaller, new_idempotency_token
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories.conversations import ConversationRepositories

CONVERSATION_EVENT = "conversation_event"
Params = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Hook:
    url: str
    method: str


@dataclass(slots=True)
class PreOutcome:
    blocked: bool = False
    blocked_by: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)


def _with_timeout(url: str) -> str:
    """Pre-events wait at most 5 seconds; a URL's own connection overrides (#tt=…) still win."""
    return url if "#" in url else f"{url}#tt={PRE_EVENT_TIMEOUT_MS}"


class ConversationEvents:
    def __init__(self, db: Database, clock: Clock, repos: ConversationRepositories, caller: WebhookCaller,
                 alerts: AlertService) -> None:
        self._db = db
        self._clock = clock
        self._repos = repos
        self._caller = caller
        self._alerts = alerts

    async def _configured(self, conn: Conn, service: ChatService, event: str, pre: bool) -> list[Hook]:
        hooks: list[Hook] = []
        config: AccountConfig | None = await self._repos.configs.get(conn, service.account_sid)
        sources: list[tuple[str | None, str, str]] = []
        if config is not None and config.webhook_target == "webhook":
            sources.append((config.pre_webhook_url if pre else config.post_webhook_url, config.webhook_method,
                            config.webhook_filters))
        sources.append((service.pre_webhook_url if pre else service.post_webhook_url, service.webhook_method,
                        service.webhook_filters))
        for url, method, filters in sources:
            if url and event in json_list(filters):
                hooks.append(Hook(url, method))
        return hooks

    # --- pre-events --------------------------------------------------------------------------

    async def pre(self, service: ChatService, event: str, params: Params, resource_sid: str | None) -> PreOutcome:
        """Call the pre-event webhooks in turn (outside any transaction); the first refusal blocks."""
        async with self._db.read() as conn:
            hooks = await self._configured(conn, service, event, pre=True)
        outcome = PreOutcome()
        if not hooks:
            return outcome
        full = [*params, ("EventType", event)]
        calls = []
        for hook in hooks:
            call = WebhookCall(service.account_sid, resource_sid, "conversations-pre", _with_timeout(hook.url),
                               hook.method, tuple(full), new_idempotency_token())
            result = await self._caller.send(call)
            calls.append((call, result))
            if result.status_code is None:  # never answered: let the action through (see above)
                continue
            if not result.ok:
                outcome.blocked, outcome.blocked_by = True, hook.url
                break
            outcome.changes.update(_changes(result.body))
        async with self._db.transaction() as conn:
            for call, result in calls:
                await self._caller.record(conn, call, result)
                if result.status_code is None:
                    await self._alerts.record(conn, service.account_sid, result.error_code or 11200,
                                              f"{event} pre-event webhook {call.url} failed: {result.error_message}",
                                              request_url=call.url, request_method=call.method,
                                              request_params=call.params, resource_sid=resource_sid,
                                              service_sid=service.sid)
        return outcome

    # --- post-events -------------------------------------------------------------------------

    async def post(self, conn: Conn, service: ChatService, conversation_sid: str | None, event: str,
                   params: Params, body: str | None = None) -> None:
        """Queue the post-event for every webhook that wants it (inside the action's transaction)."""
        hooks = await self._configured(conn, service, event, pre=False)
        if conversation_sid is not None:
            for webhook in await self._repos.webhooks.of_conversation(conn, conversation_sid):
                if not webhook.url:
                    continue
                if webhook.target == "trigger":
                    words = [w.lower() for w in json_list(webhook.triggers)]
                    if event != "onMessageAdded" or not body or not any(w in body.lower() for w in words):
                        continue
                elif event not in json_list(webhook.filters):
                    continue
                hooks.append(Hook(webhook.url, webhook.method))
        await self.enqueue(conn, service.account_sid, service.sid, conversation_sid, hooks,
                           [*params, ("EventType", event)])

    async def enqueue(self, conn: Conn, account_sid: str, service_sid: str, conversation_sid: str | None,
                      hooks: Sequence[Hook], params: Params) -> None:
        now = self._clock.now()
        for hook in hooks:
            await jobs.enqueue(conn, CONVERSATION_EVENT, {
                "account_sid": account_sid, "service_sid": service_sid, "resource_sid": conversation_sid,
                "url": hook.url, "method": hook.method, "params": params, "token": new_idempotency_token(),
            }, now, now, max_attempts=1)

    async def deliver(self, job: Job) -> None:
        """Send one queued post-event; its attempts are kept, and a failure becomes an alert."""
        p = job.payload
        call = WebhookCall(p["account_sid"], p.get("resource_sid"), "conversations-post", p["url"], p["method"],
                           tuple((str(k), str(v)) for k, v in p["params"]), p["token"])
        result = await self._caller.send(call)
        async with self._db.transaction() as conn:
            await self._caller.record(conn, call, result)
            if not result.ok:
                body = result.body.decode("utf-8", "replace") if result.body else None
                await self._alerts.record(conn, call.account_sid, result.error_code or 11200,
                                          f"post-event webhook {call.url} failed: "
                                          f"{result.error_message or result.status_code}",
                                          request_url=call.url, request_method=call.method,
                                          request_params=call.params, response_body=body,
                                          resource_sid=call.resource_sid, service_sid=p.get("service_sid"))
            await jobs.complete(conn, job.id)


def _changes(body: bytes) -> dict[str, Any]:
    """A pre-event's JSON answer, lower-cased keys; anything that is not a JSON object changes nothing."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): v for k, v in value.items()}


# --- event parameters (Twilio's names for each resource's fields) -----------------------------

def conversation_params(c: Conversation, source: Source) -> Params:
    return [("AccountSid", c.account_sid), ("ChatServiceSid", c.chat_service_sid), ("ConversationSid", c.sid),
            ("FriendlyName", c.friendly_name or ""), ("UniqueName", c.unique_name or ""),
            ("Attributes", c.attributes), ("DateCreated", iso8601(c.date_created) or ""), ("State", c.state.value),
            ("MessagingServiceSid", c.messaging_service_sid or ""), ("Source", source.value)]


def participant_params(p: Participant, source: Source) -> Params:
    params = [("AccountSid", p.account_sid), ("ChatServiceSid", p.chat_service_sid),
              ("ConversationSid", p.conversation_sid), ("ParticipantSid", p.sid), ("Attributes", p.attributes),
              ("DateCreated", iso8601(p.date_created) or ""), ("RoleSid", p.role_sid or ""), ("Source", source.value)]
    if p.identity is not None:
        params.append(("Identity", p.identity))
    if p.address is not None:
        params += [("MessagingBinding.Address", p.address), ("MessagingBinding.ProxyAddress", p.proxy_address or "")]
    if p.last_read_message_index is not None:  # the read horizon, once the participant has one
        params += [("LastReadMessageIndex", str(p.last_read_message_index)),
                   ("LastReadTimestamp", p.last_read_timestamp or "")]
    return params


def message_params(m: ConversationMessage, source: Source, client_identity: str | None = None) -> Params:
    """A message's event parameters; ``client_identity``: the chat client that acts (SDK source)."""
    params = [("AccountSid", m.account_sid), ("ChatServiceSid", m.chat_service_sid),
              ("ConversationSid", m.conversation_sid), ("MessageSid", m.sid), ("Index", str(m.idx)),
              ("Author", m.author), ("Body", m.body or ""), ("Attributes", m.attributes),
              ("ParticipantSid", m.participant_sid or ""), ("DateCreated", iso8601(m.date_created) or ""),
              ("Source", source.value)]
    if m.media:
        params.append(("Media", m.media))
    if source is Source.SDK and client_identity:  # Twilio names the chat client in every SDK event
        params.append(("ClientIdentity", client_identity))
    return params
