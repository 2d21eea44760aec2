"""Programmable Voice: calls, recordings, and the sandbox handsets' call behaviour and history."""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column[datetime]]:
    return [sa.Column("date_created", sa.DateTime(), nullable=False),
            sa.Column("date_updated", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("parent_call_sid", sa.String(34)),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("from_addr", sa.String(255), nullable=False),
        sa.Column("to_addr", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_time", sa.DateTime()),
        sa.Column("end_time", sa.DateTime()),
        sa.Column("duration", sa.Integer),
        sa.Column("answered_by", sa.String(32)),
        sa.Column("caller_name", sa.String(64)),
        sa.Column("phone_number_sid", sa.String(34)),
        sa.Column("url", sa.Text),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("twiml", sa.Text),
        sa.Column("fallback_url", sa.Text),
        sa.Column("fallback_method", sa.String(8), nullable=False),
        sa.Column("status_callback", sa.Text),
        sa.Column("status_callback_method", sa.String(8), nullable=False),
        sa.Column("status_callback_events", sa.String(64), nullable=False),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("record", sa.Boolean, nullable=False),
        sa.Column("send_digits", sa.String(64)),
        sa.Column("application_sid", sa.String(34)),
        sa.Column("dial_at", sa.DateTime(), nullable=False),
        *_stamps(),
    )
    op.create_index("ix_calls_account", "calls", ["account_sid", "id"])
    op.create_index("ix_calls_account_dial_at", "calls", ["account_sid", "dial_at"])
    op.create_table(
        "recordings",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("call_sid", sa.String(34), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("channels", sa.Integer, nullable=False),
        sa.Column("duration", sa.Integer, nullable=False),
        sa.Column("blob_key", sa.String(255)),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        *_stamps(),
    )
    op.create_index("ix_recordings_call_sid", "recordings", ["call_sid"])
    op.create_index("ix_recordings_account", "recordings", ["account_sid", "id"])
    op.create_table(
        "handset_behaviors",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("handset", sa.String(255), nullable=False),
        sa.Column("answer", sa.String(16), nullable=False),
        sa.Column("answer_after", sa.Integer, nullable=False),
        sa.Column("digits", sa.String(64)),
        sa.Column("play_url", sa.Text),
        sa.Column("hangup_after", sa.Integer),
        sa.Column("date_updated", sa.DateTime(), nullable=False),
    )
    op.create_index("ux_handset_behaviors", "handset_behaviors", ["account_sid", "handset"], unique=True)
    op.create_table(
        "handset_calls",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("handset", sa.String(255), nullable=False),
        sa.Column("call_sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("heard", sa.Text, nullable=False),
        sa.Column("digits_sent", sa.String(128), nullable=False),
        sa.Column("blob_key", sa.String(255)),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_handset_calls_handset", "handset_calls", ["handset", "id"])
