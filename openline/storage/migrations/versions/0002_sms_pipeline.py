"""SMS pipeline: messages and their timeline, media, the job queue, webhook attempts, alerts,
messaging services with their senders, sticky senders, opt-outs, and sandbox handset inboxes.
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column[datetime]]:
    return [sa.Column("date_created", sa.DateTime(), nullable=False),
            sa.Column("date_updated", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("media_auth_required", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("alpha_sender_enabled", sa.Boolean, nullable=False, server_default=sa.true()))

    op.create_table(
        "messaging_services",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), sa.ForeignKey("accounts.sid"), nullable=False, index=True),
        sa.Column("friendly_name", sa.String(64), nullable=False),
        sa.Column("inbound_request_url", sa.Text),
        sa.Column("inbound_method", sa.String(8), nullable=False),
        sa.Column("fallback_url", sa.Text),
        sa.Column("fallback_method", sa.String(8), nullable=False),
        sa.Column("status_callback", sa.Text),
        sa.Column("sticky_sender", sa.Boolean, nullable=False),
        sa.Column("mms_converter", sa.Boolean, nullable=False),
        sa.Column("smart_encoding", sa.Boolean, nullable=False),
        sa.Column("scan_message_content", sa.String(16), nullable=False),
        sa.Column("fallback_to_long_code", sa.Boolean, nullable=False),
        sa.Column("area_code_geomatch", sa.Boolean, nullable=False),
        sa.Column("synchronous_validation", sa.Boolean, nullable=False),
        sa.Column("validity_period", sa.Integer, nullable=False),
        sa.Column("usecase", sa.String(64), nullable=False),
        sa.Column("use_inbound_webhook_on_number", sa.Boolean, nullable=False),
        sa.Column("opt_out_enabled", sa.Boolean, nullable=False),
        sa.Column("stop_reply", sa.Text),
        sa.Column("start_reply", sa.Text),
        sa.Column("help_reply", sa.Text),
        *_stamps(),
    )
    op.create_table(
        "service_senders",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False),  # PN… for numbers, AI… for alpha senders
        sa.Column("service_sid", sa.String(34), sa.ForeignKey("messaging_services.sid", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),  # "phone" | "alpha"
        sa.Column("address", sa.String(32), nullable=False),
        *_stamps(),
        # A phone number serves at most one messaging service (Twilio error 21710).
        sa.UniqueConstraint("sid", name="uq_service_senders_sid"),
    )
    op.create_table(
        "sticky_senders",
        sa.Column("service_sid", sa.String(34), primary_key=True),
        sa.Column("to_addr", sa.String(64), primary_key=True),
        sa.Column("from_addr", sa.String(64), nullable=False),
    )
    op.create_table(
        "opt_outs",
        sa.Column("scope", sa.String(64), primary_key=True),  # messaging service SID or sender number
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), sa.ForeignKey("accounts.sid"), nullable=False),
        sa.Column("messaging_service_sid", sa.String(34)),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("from_addr", sa.String(64), nullable=True),
        sa.Column("to_addr", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("error_code", sa.Integer),
        sa.Column("error_message", sa.Text),
        sa.Column("num_segments", sa.Integer, nullable=False),
        sa.Column("num_media", sa.Integer, nullable=False),
        sa.Column("encoding", sa.String(8), nullable=False),
        sa.Column("price", sa.String(16)),
        sa.Column("price_unit", sa.String(3), nullable=False),
        sa.Column("date_sent", sa.DateTime()),
        sa.Column("send_at", sa.DateTime()),
        sa.Column("expires_at", sa.DateTime()),
        sa.Column("status_callback", sa.Text),
        sa.Column("status_callback_method", sa.String(8), nullable=False),
        sa.Column("application_sid", sa.String(34)),
        sa.Column("max_price", sa.String(16)),
        sa.Column("carrier", sa.String(64)),
        sa.Column("carrier_message_id", sa.String(128)),
        sa.Column("in_reply_to", sa.String(34)),
        *_stamps(),
    )
    op.create_index("ix_messages_account_id", "messages", ["account_sid", "id"])
    op.create_index("ix_messages_to", "messages", ["account_sid", "to_addr"])
    op.create_index("ix_messages_from", "messages", ["account_sid", "from_addr"])
    op.create_index("ix_messages_sender_status", "messages", ["from_addr", "status"])
    op.create_index("ix_messages_carrier_id", "messages", ["carrier", "carrier_message_id"])
    op.create_table(
        "message_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("message_sid", sa.String(34), nullable=False, index=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("error_code", sa.Integer),
        sa.Column("detail", sa.Text),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "message_media",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("message_sid", sa.String(34), nullable=False, index=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("source_url", sa.Text),
        sa.Column("blob_key", sa.String(200)),
        sa.Column("size", sa.Integer),
        *_stamps(),
    )
    op.create_table(
        "jobs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.DateTime()),
        sa.Column("dead", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_error", sa.Text),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_jobs_due", "jobs", ["dead", "kind", "run_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("resource_sid", sa.String(34), index=True),
        sa.Column("purpose", sa.String(24), nullable=False),  # inbound | fallback | status | redirect
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("request_params", sa.Text, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response_excerpt", sa.Text),
        sa.Column("error_code", sa.Integer),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("error_code", sa.Integer, nullable=False),
        sa.Column("log_level", sa.String(16), nullable=False),
        sa.Column("alert_text", sa.Text, nullable=False),
        sa.Column("request_url", sa.Text),
        sa.Column("request_method", sa.String(8)),
        sa.Column("request_variables", sa.Text),
        sa.Column("response_body", sa.Text),
        sa.Column("resource_sid", sa.String(34)),
        sa.Column("service_sid", sa.String(34)),
        *_stamps(),
    )
    op.create_index("ix_alerts_account_id", "alerts", ["account_sid", "id"])
    op.create_table(
        "handset_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("handset", sa.String(64), nullable=False),
        sa.Column("message_sid", sa.String(34), nullable=False, index=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("from_addr", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("date_sent", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_handset_messages_handset", "handset_messages", ["handset", "id"])
