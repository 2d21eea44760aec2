"""Table definitions used by the repositories (the migrations create the same tables)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
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
    Column("media_auth_required", Boolean, nullable=False),
    Column("alpha_sender_enabled", Boolean, nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
    Column("secondary_auth_token", String(32), nullable=True),
    Column("secondary_token_created", UtcDateTime, nullable=True),
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


def _stamps() -> list[Column[datetime]]:
    return [Column("date_created", UtcDateTime, nullable=False), Column("date_updated", UtcDateTime, nullable=False)]


messaging_services = Table(
    "messaging_services",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("friendly_name", String(64), nullable=False),
    Column("inbound_request_url", Text),
    Column("inbound_method", String(8), nullable=False),
    Column("fallback_url", Text),
    Column("fallback_method", String(8), nullable=False),
    Column("status_callback", Text),
    Column("sticky_sender", Boolean, nullable=False),
    Column("mms_converter", Boolean, nullable=False),
    Column("smart_encoding", Boolean, nullable=False),
    Column("scan_message_content", String(16), nullable=False),
    Column("fallback_to_long_code", Boolean, nullable=False),
    Column("area_code_geomatch", Boolean, nullable=False),
    Column("synchronous_validation", Boolean, nullable=False),
    Column("validity_period", Integer, nullable=False),
    Column("usecase", String(64), nullable=False),
    Column("use_inbound_webhook_on_number", Boolean, nullable=False),
    Column("opt_out_enabled", Boolean, nullable=False),
    Column("stop_reply", Text),
    Column("start_reply", Text),
    Column("help_reply", Text),
    *_stamps(),
)

service_senders = Table(
    "service_senders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("service_sid", String(34), nullable=False),
    Column("account_sid", String(34), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("address", String(32), nullable=False),
    *_stamps(),
)

sticky_senders = Table(
    "sticky_senders",
    metadata,
    Column("service_sid", String(34), primary_key=True),
    Column("to_addr", String(64), primary_key=True),
    Column("from_addr", String(64), nullable=False),
)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("account_sid", String(34), nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("messaging_service_sid", String(34)),
    Column("direction", String(16), nullable=False),
    Column("from_addr", String(64)),
    Column("to_addr", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(24), nullable=False),
    Column("error_code", Integer),
    Column("error_message", Text),
    Column("num_segments", Integer, nullable=False),
    Column("num_media", Integer, nullable=False),
    Column("encoding", String(8), nullable=False),
    Column("price", String(16)),
    Column("price_unit", String(3), nullable=False),
    Column("date_sent", UtcDateTime),
    Column("send_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
    Column("status_callback", Text),
    Column("status_callback_method", String(8), nullable=False),
    Column("application_sid", String(34)),
    Column("max_price", String(16)),
    Column("carrier", String(64)),
    Column("carrier_message_id", String(128)),
    Column("in_reply_to", String(34)),
    *_stamps(),
    Column("concealed", Boolean, nullable=False),
    Column("content_sid", String(34)),
    Column("content_variables", Text),
    Column("profile_name", String(255)),
    Column("reply_token", String(255)),
)

contents = Table(
    "contents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False, index=True),
    Column("friendly_name", String(255), nullable=False),
    Column("language", String(16), nullable=False),
    Column("variables", Text, nullable=False),
    Column("types", Text, nullable=False),
    Column("whatsapp_approval", Text),
    *_stamps(),
)

message_events = Table(
    "message_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_sid", String(34), nullable=False),
    Column("status", String(24), nullable=False),
    Column("error_code", Integer),
    Column("detail", Text),
    Column("at", UtcDateTime, nullable=False),
)

message_media = Table(
    "message_media",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("message_sid", String(34), nullable=False),
    Column("account_sid", String(34), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("source_url", Text),
    Column("blob_key", String(200)),
    Column("size", Integer),
    *_stamps(),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("run_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("dead", Boolean, nullable=False),
    Column("last_error", Text),
    Column("date_created", UtcDateTime, nullable=False),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), nullable=False),
    Column("resource_sid", String(34)),
    Column("purpose", String(24), nullable=False),
    Column("url", Text, nullable=False),
    Column("method", String(8), nullable=False),
    Column("request_params", Text, nullable=False),
    Column("status_code", Integer),
    Column("response_excerpt", Text),
    Column("error_code", Integer),
    Column("duration_ms", Float, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("error_code", Integer, nullable=False),
    Column("log_level", String(16), nullable=False),
    Column("alert_text", Text, nullable=False),
    Column("request_url", Text),
    Column("request_method", String(8)),
    Column("request_variables", Text),
    Column("response_body", Text),
    Column("resource_sid", String(34)),
    Column("service_sid", String(34)),
    *_stamps(),
)

handset_messages = Table(
    "handset_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("handset", String(64), nullable=False),
    Column("message_sid", String(34), nullable=False),
    Column("account_sid", String(34), nullable=False),
    Column("from_addr", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(24), nullable=False),
    Column("date_sent", UtcDateTime, nullable=False),
)

# --- Verify v2 (migration 0003) ---------------------------------------------------------------

verify_services = Table(
    "verify_services",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("friendly_name", String(64), nullable=False),
    Column("code_length", Integer, nullable=False),
    Column("lookup_enabled", Boolean, nullable=False),
    Column("skip_sms_to_landlines", Boolean, nullable=False),
    Column("dtmf_input_required", Boolean, nullable=False),
    Column("tts_name", String(64)),
    Column("psd2_enabled", Boolean, nullable=False),
    Column("do_not_share_warning_enabled", Boolean, nullable=False),
    Column("custom_code_enabled", Boolean, nullable=False),
    Column("default_template_sid", String(34)),
    Column("verify_event_subscription_enabled", Boolean, nullable=False),
    *_stamps(),
)

verifications = Table(
    "verifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("service_sid", String(34), nullable=False),
    Column("account_sid", String(34), nullable=False),
    Column("to_addr", String(320), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("code_seed", String(64)),
    Column("code_length", Integer, nullable=False),
    Column("locale", String(16)),
    Column("carrier_type", String(24)),
    Column("carrier_name", String(128)),
    Column("check_attempts", Integer, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    *_stamps(),
)

verification_attempts = Table(
    "verification_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("verification_sid", String(34), nullable=False),
    Column("service_sid", String(34), nullable=False),
    Column("account_sid", String(34), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("message_sid", String(34)),
    Column("date_created", UtcDateTime, nullable=False),
)

verify_rate_limits = Table(
    "verify_rate_limits",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("service_sid", String(34), nullable=False),
    Column("account_sid", String(34), nullable=False),
    Column("unique_name", String(64), nullable=False),
    Column("description", Text),
    *_stamps(),
)

verify_buckets = Table(
    "verify_buckets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("rate_limit_sid", String(34), nullable=False),
    Column("service_sid", String(34), nullable=False),
    Column("account_sid", String(34), nullable=False),
    Column("max_requests", Integer, nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    *_stamps(),
)

# Sliding-window counters for every Verify limit: one row per counted event under a scope
# ("send:VA…:+1555…", "rl:RK…:<key>", "prefix:AC…:+232"), and one lock row per scope.
verify_rate_scopes = Table(
    "verify_rate_scopes",
    metadata,
    Column("scope", String(400), primary_key=True),
)

verify_rate_events = Table(
    "verify_rate_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scope", String(400), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

message_parts = Table(
    "message_parts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_sid", String(34), nullable=False),
    Column("part_index", Integer, nullable=False),
    Column("part_count", Integer, nullable=False),
    Column("carrier", String(64), nullable=False),
    Column("carrier_message_id", String(128), nullable=False),
    Column("id_key", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("error_code", Integer),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("receipt_at", UtcDateTime),
)

unmatched_receipts = Table(
    "unmatched_receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("carrier", String(64), nullable=False),
    Column("id_key", String(128), nullable=False),
    Column("receipt_id", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("error", String(16)),
    Column("raw", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

inbound_parts = Table(
    "inbound_parts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("carrier", String(64), nullable=False),
    Column("group_key", String(200), nullable=False),
    Column("part_index", Integer, nullable=False),
    Column("part_count", Integer, nullable=False),
    Column("from_addr", String(64), nullable=False),
    Column("to_addr", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

from openline.storage import schema_email as _email  # noqa: E402,F401  (email tables, same metadata)

# When each paced sender may send next (GCRA), shared by every worker process: see storage/pacing.py.
sender_pacing = Table(
    "sender_pacing",
    metadata,
    Column("sender", String(64), primary_key=True),
    Column("next_at", UtcDateTime, nullable=False),  # the earliest next actual send
    Column("promised_at", UtcDateTime, nullable=False),  # slots up to here are promised to tickets
)

# A slot promised to one queued message (it comes back at slot_at and sends without queueing again).
pacing_tickets = Table(
    "pacing_tickets",
    metadata,
    Column("message_sid", String(34), primary_key=True),
    Column("slot_at", UtcDateTime, nullable=False),
)

# --- Conversations (migration 0008) ----------------------------------------------------------

conversation_services = Table(
    "conversation_services",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("friendly_name", String(256), nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("default_conversation_creator_role_sid", String(34)),
    Column("default_conversation_role_sid", String(34)),
    Column("default_chat_service_role_sid", String(34)),
    Column("reachability_enabled", Boolean, nullable=False),
    Column("pre_webhook_url", Text),
    Column("post_webhook_url", Text),
    Column("webhook_method", String(8), nullable=False),
    Column("webhook_filters", Text, nullable=False),
    *_stamps(),
)

conversation_configs = Table(
    "conversation_configs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),  # the account SID: one row per account
    Column("account_sid", String(34), nullable=False),
    Column("default_chat_service_sid", String(34), nullable=False),
    Column("default_messaging_service_sid", String(34)),
    Column("default_inactive_timer", String(32)),
    Column("default_closed_timer", String(32)),
    Column("pre_webhook_url", Text),
    Column("post_webhook_url", Text),
    Column("webhook_method", String(8), nullable=False),
    Column("webhook_filters", Text, nullable=False),
    Column("webhook_target", String(16), nullable=False),
    *_stamps(),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("chat_service_sid", String(34), nullable=False),
    Column("messaging_service_sid", String(34)),
    Column("unique_name", String(256)),
    Column("friendly_name", String(256)),
    Column("attributes", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("timer_inactive", String(32)),
    Column("timer_closed", String(32)),
    Column("date_inactive", UtcDateTime),
    Column("date_closed", UtcDateTime),
    Column("last_index", Integer, nullable=False),
    *_stamps(),
)

conversation_participants = Table(
    "conversation_participants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("chat_service_sid", String(34), nullable=False),
    Column("conversation_sid", String(34), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("identity", String(256)),
    Column("address", String(64)),
    Column("proxy_address", String(64)),
    Column("attributes", Text, nullable=False),
    Column("role_sid", String(34)),
    Column("last_read_message_index", Integer),
    Column("last_read_timestamp", String(32)),
    *_stamps(),
)

conversation_messages = Table(
    "conversation_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("chat_service_sid", String(34), nullable=False),
    Column("conversation_sid", String(34), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("author", String(256), nullable=False),
    Column("body", Text),
    Column("media", Text),
    Column("attributes", Text, nullable=False),
    Column("participant_sid", String(34)),
    *_stamps(),
)

conversation_receipts = Table(
    "conversation_receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("chat_service_sid", String(34), nullable=False),
    Column("conversation_sid", String(34), nullable=False),
    Column("message_sid", String(34), nullable=False),
    Column("participant_sid", String(34), nullable=False),
    Column("channel_message_sid", String(34)),
    Column("error_code", Integer),
    Column("status", String(16)),  # chat participants only: delivered | read (SMS copies follow their SMS)
    *_stamps(),
)

conversation_webhooks = Table(
    "conversation_webhooks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("chat_service_sid", String(34), nullable=False),
    Column("conversation_sid", String(34), nullable=False),
    Column("target", String(16), nullable=False),
    Column("url", Text),
    Column("method", String(8), nullable=False),
    Column("filters", Text, nullable=False),
    Column("triggers", Text, nullable=False),
    Column("replay_after", Integer),
    *_stamps(),
)

conversation_users = Table(
    "conversation_users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("chat_service_sid", String(34), nullable=False),
    Column("identity", String(256), nullable=False),
    Column("friendly_name", String(256)),
    Column("attributes", Text, nullable=False),
    Column("role_sid", String(34)),
    *_stamps(),
)

conversation_roles = Table(
    "conversation_roles",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("chat_service_sid", String(34), nullable=False),
    Column("friendly_name", String(256), nullable=False),
    Column("type", String(16), nullable=False),
    Column("permissions", Text, nullable=False),
    *_stamps(),
)

conversation_addresses = Table(
    "conversation_addresses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("type", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("friendly_name", String(256)),
    Column("auto_creation_enabled", Boolean, nullable=False),
    Column("auto_creation_type", String(16), nullable=False),
    Column("conversation_service_sid", String(34)),
    Column("webhook_url", Text),
    Column("webhook_method", String(8), nullable=False),
    Column("webhook_filters", Text, nullable=False),
    Column("address_country", String(8)),
    *_stamps(),
)

# SIP registrar bindings (migration 0011): one row per (user, contact).
sip_registrations = Table(
    "sip_registrations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("contact", String(512), nullable=False),
    Column("source_host", String(64), nullable=False),
    Column("source_port", Integer, nullable=False),
    Column("transport", String(8), nullable=False),
    Column("call_id", String(255), nullable=False),
    Column("cseq", BigInteger, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
    UniqueConstraint("username", "contact", name="uq_sip_registrations_binding"),
)
from openline.storage import schema_voice as _voice  # noqa: E402,F401  (voice tables, same metadata)
