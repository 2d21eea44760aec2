"""Email tables (SendGrid v3 API): keys, requests, messages, sandbox mailboxes, templates,
suppressions, settings, scheduled batches and DKIM domains. Same metadata as ``schema``."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import Table as _Table

from openline.storage.schema import Id, metadata
from openline.storage.types import UtcDateTime

email_api_keys = _Table(
    "email_api_keys", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key_id", String(32), nullable=False, unique=True),  # the middle part of SG.<id>.<secret>
    Column("account_sid", String(34), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", Text, nullable=False),  # JSON list
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
)

# One accepted POST /v3/mail/send: the validated body, kept until every personalization is out.
email_requests = _Table(
    "email_requests", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", String(32), nullable=False, unique=True),  # X-Message-Id
    Column("account_sid", String(34), nullable=False, index=True),
    Column("body", Text, nullable=False),
    Column("batch_id", String(64)),
    Column("send_at", UtcDateTime),
    Column("state", String(16), nullable=False),  # queued | expanded | cancelled
    Column("date_created", UtcDateTime, nullable=False),
)

# One message per personalization, as built (RFC 5322, DKIM-signed when a key exists).
email_messages = _Table(
    "email_messages", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sg_message_id", String(64), nullable=False, unique=True),
    Column("message_id", String(32), nullable=False, index=True),
    Column("account_sid", String(34), nullable=False, index=True),
    Column("from_addr", String(320), nullable=False),
    Column("recipients", Text, nullable=False),  # JSON list of envelope recipients
    Column("subject", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("meta", Text, nullable=False),  # JSON: categories, custom_args, asm group (for events)
    Column("state", String(16), nullable=False),  # queued | delivered | deferred | bounced | dropped
    Column("detail", Text),
    Column("date_created", UtcDateTime, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
)

email_mailbox = _Table(
    "email_mailbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), nullable=False),
    Column("address", String(320), nullable=False),
    Column("sg_message_id", String(64), nullable=False),
    Column("raw", Text, nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
    Index("ix_email_mailbox_address", "address", "account_sid", "id"),
)

email_templates = _Table(
    "email_templates", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("template_id", String(40), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("generation", String(16), nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
)

email_template_versions = _Table(
    "email_template_versions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("version_id", String(40), nullable=False, unique=True),
    Column("template_id", String(40), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("subject", Text, nullable=False),
    Column("html_content", Text, nullable=False),
    Column("plain_content", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("date_updated", UtcDateTime, nullable=False),
)

# kind: bounces | blocks | spam_reports | invalid_emails | unsubscribes | group (group_id > 0)
email_suppressions = _Table(
    "email_suppressions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("group_id", Integer, nullable=False),
    Column("email", String(320), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("created", Integer, nullable=False),  # unix seconds, as SendGrid answers
    UniqueConstraint("account_sid", "kind", "group_id", "email", name="uq_email_suppressions"),
    Index("ix_email_suppressions_email", "account_sid", "email"),
)

email_asm_groups = _Table(
    "email_asm_groups", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), nullable=False, index=True),
    Column("name", String(30), nullable=False),
    Column("description", String(100), nullable=False),
    Column("is_default", Boolean, nullable=False),
)

email_settings = _Table(
    "email_settings", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), nullable=False),
    Column("name", String(64), nullable=False),  # event_webhook | event_webhook_key | parse:<hostname>
    Column("value", Text, nullable=False),
    UniqueConstraint("account_sid", "name", name="uq_email_settings"),
)

email_batches = _Table(
    "email_batches", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("batch_id", String(64), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False, index=True),
    Column("status", String(16)),  # None (sending as scheduled) | pause | cancel
    Column("date_created", UtcDateTime, nullable=False),
)

email_domains = _Table(
    "email_domains", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("domain", String(253), nullable=False, unique=True),
    Column("selector", String(63), nullable=False),
    Column("algorithm", String(16), nullable=False),  # rsa-sha256 | ed25519-sha256
    Column("private_key", Text, nullable=False),  # PEM, sealed (base64) under the master key
    Column("public_key", Text, nullable=False),  # the DNS p= value
    Column("date_created", UtcDateTime, nullable=False),
)
