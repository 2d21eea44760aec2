"""Voice tables (migration 0010): calls, recordings, and the sandbox's simulated handsets' calls.
Same metadata as ``schema``."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Text
from sqlalchemy import Table as _Table

from openline.storage.schema import Id, metadata
from openline.storage.types import UtcDateTime

calls = _Table(
    "calls", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("parent_call_sid", String(34)),
    Column("direction", String(16), nullable=False),
    Column("from_addr", String(255), nullable=False),
    Column("to_addr", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", UtcDateTime),
    Column("end_time", UtcDateTime),
    Column("duration", Integer),
    Column("answered_by", String(32)),
    Column("caller_name", String(64)),
    Column("phone_number_sid", String(34)),
    Column("url", Text),
    Column("method", String(8), nullable=False),
    Column("twiml", Text),
    Column("fallback_url", Text),
    Column("fallback_method", String(8), nullable=False),
    Column("status_callback", Text),
    Column("status_callback_method", String(8), nullable=False),
    Column("status_callback_events", String(64), nullable=False),
    Column("timeout", Integer, nullable=False),
    Column("record", Boolean, nullable=False),
    Column("send_digits", String(64)),
    Column("application_sid", String(34)),
    Column("dial_at", UtcDateTime, nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
    Index("ix_calls_account", "account_sid", "id"),
    Index("ix_calls_account_dial_at", "account_sid", "dial_at"),
)

recordings = _Table(
    "recordings", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("call_sid", String(34), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("source", String(32), nullable=False),
    Column("channels", Integer, nullable=False),
    Column("duration", Integer, nullable=False),
    Column("blob_key", String(255)),
    Column("start_time", UtcDateTime, nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
    Index("ix_recordings_account", "account_sid", "id"),
)

# How a simulated handset answers its next calls (POST /sandbox/v1/Handsets/{address}/Behavior).
handset_behaviors = _Table(
    "handset_behaviors", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), nullable=False),
    Column("handset", String(255), nullable=False),
    Column("answer", String(16), nullable=False),
    Column("answer_after", Integer, nullable=False),
    Column("digits", String(64)),
    Column("play_url", Text),
    Column("hangup_after", Integer),
    Column("date_updated", UtcDateTime, nullable=False),
    Index("ux_handset_behaviors", "account_sid", "handset", unique=True),
)

# What a simulated handset lived through on one call: the text it heard, digits it pressed, audio.
handset_calls = _Table(
    "handset_calls", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("handset", String(255), nullable=False),
    Column("call_sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("heard", Text, nullable=False),  # JSON list of <Say> texts
    Column("digits_sent", String(128), nullable=False),
    Column("blob_key", String(255)),
    Column("date_created", UtcDateTime, nullable=False),
    Index("ix_handset_calls_handset", "handset", "id"),
)
