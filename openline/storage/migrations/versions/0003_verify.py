"""Verify v2: services, verifications and their send attempts, rate limits with their buckets,
and the sliding-window counters behind every Verify limit (so limits survive a restart).
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column[datetime]]:
    return [sa.Column("date_created", sa.DateTime(), nullable=False),
            sa.Column("date_updated", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "verify_services",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), sa.ForeignKey("accounts.sid"), nullable=False),
        sa.Column("friendly_name", sa.String(64), nullable=False),
        sa.Column("code_length", sa.Integer, nullable=False),
        sa.Column("lookup_enabled", sa.Boolean, nullable=False),
        sa.Column("skip_sms_to_landlines", sa.Boolean, nullable=False),
        sa.Column("dtmf_input_required", sa.Boolean, nullable=False),
        sa.Column("tts_name", sa.String(64)),
        sa.Column("psd2_enabled", sa.Boolean, nullable=False),
        sa.Column("do_not_share_warning_enabled", sa.Boolean, nullable=False),
        sa.Column("custom_code_enabled", sa.Boolean, nullable=False),
        sa.Column("default_template_sid", sa.String(34)),
        sa.Column("verify_event_subscription_enabled", sa.Boolean, nullable=False),
        *_stamps(),
    )
    op.create_index("ix_verify_services_account_id", "verify_services", ["account_sid", "id"])
    op.create_table(
        "verifications",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("service_sid", sa.String(34), sa.ForeignKey("verify_services.sid", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("to_addr", sa.String(320), nullable=False),  # E.164 now; an e-mail address later
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),  # keyed hash only: never the code
        sa.Column("code_seed", sa.String(64)),  # a generated code is a keyed function of this seed
        sa.Column("code_length", sa.Integer, nullable=False),
        sa.Column("locale", sa.String(16)),
        sa.Column("carrier_type", sa.String(24)),
        sa.Column("carrier_name", sa.String(128)),
        sa.Column("check_attempts", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        *_stamps(),
    )
    op.create_index("ix_verifications_destination", "verifications", ["service_sid", "to_addr", "id"])
    op.create_table(
        "verification_attempts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("verification_sid", sa.String(34), sa.ForeignKey("verifications.sid", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("service_sid", sa.String(34), nullable=False),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("message_sid", sa.String(34)),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "verify_rate_limits",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("service_sid", sa.String(34), sa.ForeignKey("verify_services.sid", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("unique_name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text),
        *_stamps(),
        # Twilio error 60208: a UniqueName names one rate limit of the service.
        sa.UniqueConstraint("service_sid", "unique_name", name="uq_verify_rate_limits_name"),
    )
    op.create_table(
        "verify_buckets",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("rate_limit_sid", sa.String(34), sa.ForeignKey("verify_rate_limits.sid", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("service_sid", sa.String(34), nullable=False),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("max_requests", sa.Integer, nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        *_stamps(),
        # Twilio error 60211: one bucket per interval of a rate limit.
        sa.UniqueConstraint("rate_limit_sid", "interval_seconds", name="uq_verify_buckets_interval"),
    )
    op.create_table(
        "verify_rate_scopes",
        sa.Column("scope", sa.String(400), primary_key=True),
    )
    op.create_table(
        "verify_rate_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(400), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_verify_rate_events_scope_at", "verify_rate_events", ["scope", "at"])
