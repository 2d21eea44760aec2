"""Messaging aggregates: messages with their media, messaging services and their senders, alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from openline.core.lifecycle import Direction, MessageStatus


@dataclass(frozen=True, slots=True)
class Message:
    sid: str
    account_sid: str
    messaging_service_sid: str | None
    direction: Direction
    from_addr: str | None  # None while a messaging service has not picked a sender yet
    to_addr: str
    body: str
    status: MessageStatus
    error_code: int | None
    error_message: str | None
    num_segments: int
    num_media: int
    encoding: str
    price: str | None
    price_unit: str
    date_sent: datetime | None
    send_at: datetime | None
    expires_at: datetime | None
    status_callback: str | None
    status_callback_method: str
    application_sid: str | None
    max_price: str | None
    carrier: str | None
    carrier_message_id: str | None
    in_reply_to: str | None
    date_created: datetime
    date_updated: datetime
    # Sent by Openline for the account (a Verify code): carried and delivered like any message,
    # but never shown by the Messages API, so a live code cannot be read back.
    concealed: bool = False
    # Sent from a Content template (ContentSid) with these ContentVariables (a JSON object).
    content_sid: str | None = None
    content_variables: str | None = None
    profile_name: str | None = None  # a chat user's display name (WhatsApp ProfileName)
    reply_token: str | None = None  # LINE: an inbound message's unused reply token


@dataclass(frozen=True, slots=True)
class Media:
    sid: str
    message_sid: str
    account_sid: str
    content_type: str
    source_url: str | None
    blob_key: str | None
    size: int | None
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class MessagingService:
    sid: str
    account_sid: str
    friendly_name: str
    inbound_request_url: str | None
    inbound_method: str
    fallback_url: str | None
    fallback_method: str
    status_callback: str | None
    sticky_sender: bool
    mms_converter: bool
    smart_encoding: bool
    scan_message_content: str
    fallback_to_long_code: bool
    area_code_geomatch: bool
    synchronous_validation: bool
    validity_period: int
    usecase: str
    use_inbound_webhook_on_number: bool
    opt_out_enabled: bool
    stop_reply: str | None
    start_reply: str | None
    help_reply: str | None
    date_created: datetime
    date_updated: datetime


class SenderKind(StrEnum):
    PHONE = "phone"
    ALPHA = "alpha"


@dataclass(frozen=True, slots=True)
class ServiceSender:
    sid: str  # the PN… SID of the number, or an AI… SID for an alpha sender
    service_sid: str
    account_sid: str
    kind: SenderKind
    address: str
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Alert:
    sid: str
    account_sid: str
    error_code: int
    log_level: str
    alert_text: str
    request_url: str | None
    request_method: str | None
    request_variables: str | None
    response_body: str | None
    resource_sid: str | None
    service_sid: str | None
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class HandsetMessage:
    handset: str
    message_sid: str
    account_sid: str
    from_addr: str
    body: str
    status: str
    date_sent: datetime


@dataclass(frozen=True, slots=True)
class Content:
    """A Content API template (HX…): its types as JSON text, variables with their defaults."""

    sid: str
    account_sid: str
    friendly_name: str
    language: str
    variables: str  # JSON object: {"1": "default", …}
    types: str  # JSON object: {"twilio/text": {"body": …}, …}
    date_created: datetime
    date_updated: datetime
    # The WhatsApp template this content is approved as: {"name", "category", "status"} JSON.
    whatsapp_approval: str | None = None
