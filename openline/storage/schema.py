"""Table definitions used by the repositories (the migrations create the same tables)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from openline.storage.types import UtcDateTime

# BIGINT on PostgreSQL, but INTEGER PRIMARY KEY on SQLite so that it stays the rowid alias.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("owner_account_sid", String(34), nullable=False, index=True),
    Column("friendly_name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("auth_token", String(32), nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(64), nullable=False),
    Column("key_type", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("secret_encrypted", LargeBinary, nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(255), nullable=False),
    Column("api_version", String(16), nullable=False),
    Column("voice_url", Text),
    Column("voice_method", String(8), nullable=False),
    Column("voice_fallback_url", Text),
    Column("voice_fallback_method", String(8), nullable=False),
    Column("voice_caller_id_lookup", Boolean, nullable=False),
    Column("status_callback", Text),
    Column("status_callback_method", String(8), nullable=False),
    Column("sms_url", Text),
    Column("sms_method", String(8), nullable=False),
    Column("sms_fallback_url", Text),
    Column("sms_fallback_method", String(8), nullable=False),
    Column("sms_status_callback", Text),
    Column("message_status_callback", Text),
    Column("public_application_connect_enabled", Boolean, nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
)

incoming_phone_numbers = Table(
    "incoming_phone_numbers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    # One owner per number across the whole installation: inbound traffic is routed by it.
    Column("phone_number", String(32), nullable=False, unique=True),
    Column("friendly_name", String(255), nullable=False),
    Column("number_type", String(16), nullable=False),
    Column("iso_country", String(2), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("api_version", String(16), nullable=False),
    Column("voice_capable", Boolean, nullable=False),
    Column("sms_capable", Boolean, nullable=False),
    Column("mms_capable", Boolean, nullable=False),
    Column("fax_capable", Boolean, nullable=False),
    Column("sms_url", Text),
    Column("sms_method", String(8), nullable=False),
    Column("sms_fallback_url", Text),
    Column("sms_fallback_method", String(8), nullable=False),
    Column("sms_application_sid", String(34)),
    Column("voice_url", Text),
    Column("voice_method", String(8), nullable=False),
    Column("voice_fallback_url", Text),
    Column("voice_fallback_method", String(8), nullable=False),
    Column("voice_application_sid", String(34)),
    Column("voice_caller_id_lookup", Boolean, nullable=False),
    Column("voice_receive_mode", String(8), nullable=False),
    Column("status_callback", Text),
    Column("status_callback_method", String(8), nullable=False),
    Column("trunk_sid", String(34)),
    Column("identity_sid", String(34)),
    Column("address_sid", String(34)),
    Column("bundle_sid", String(34)),
    Column("emergency_status", String(16), nullable=False),
    Column("emergency_address_sid", String(34)),
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
)

blobs = Table(
    "blobs",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("content_type", String(255), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
)
