"""Conversations v1: services, the account's configuration, conversations with their participants,
messages, delivery receipts and scoped webhooks, users, roles and address configurations.
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column[datetime]]:
    return [sa.Column("date_created", sa.DateTime(), nullable=False),
            sa.Column("date_updated", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "conversation_services",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("friendly_name", sa.String(256), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("default_conversation_creator_role_sid", sa.String(34)),
        sa.Column("default_conversation_role_sid", sa.String(34)),
        sa.Column("default_chat_service_role_sid", sa.String(34)),
        sa.Column("reachability_enabled", sa.Boolean, nullable=False),
        sa.Column("pre_webhook_url", sa.Text),
        sa.Column("post_webhook_url", sa.Text),
        sa.Column("webhook_method", sa.String(8), nullable=False),
        sa.Column("webhook_filters", sa.Text, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "conversation_configs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),  # the account SID: one row per account
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("default_chat_service_sid", sa.String(34), nullable=False),
        sa.Column("default_messaging_service_sid", sa.String(34)),
        sa.Column("default_inactive_timer", sa.String(32)),
        sa.Column("default_closed_timer", sa.String(32)),
        sa.Column("pre_webhook_url", sa.Text),
        sa.Column("post_webhook_url", sa.Text),
        sa.Column("webhook_method", sa.String(8), nullable=False),
        sa.Column("webhook_filters", sa.Text, nullable=False),
        sa.Column("webhook_target", sa.String(16), nullable=False),
        *_stamps(),
    )
    op.create_table(
        "conversations",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("chat_service_sid", sa.String(34), nullable=False),
        sa.Column("messaging_service_sid", sa.String(34)),
        sa.Column("unique_name", sa.String(256)),
        sa.Column("friendly_name", sa.String(256)),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("timer_inactive", sa.String(32)),
        sa.Column("timer_closed", sa.String(32)),
        sa.Column("date_inactive", sa.DateTime()),
        sa.Column("date_closed", sa.DateTime()),
        sa.Column("last_index", sa.Integer, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "conversation_participants",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("chat_service_sid", sa.String(34), nullable=False),
        sa.Column("conversation_sid", sa.String(34), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("identity", sa.String(256)),
        sa.Column("address", sa.String(64)),
        sa.Column("proxy_address", sa.String(64)),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("role_sid", sa.String(34)),
        sa.Column("last_read_message_index", sa.Integer),
        sa.Column("last_read_timestamp", sa.String(32)),
        *_stamps(),
    )
    op.create_table(
        "conversation_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("chat_service_sid", sa.String(34), nullable=False),
        sa.Column("conversation_sid", sa.String(34), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("media", sa.Text),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("participant_sid", sa.String(34)),
        *_stamps(),
    )
    op.create_table(
        "conversation_receipts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("chat_service_sid", sa.String(34), nullable=False),
        sa.Column("conversation_sid", sa.String(34), nullable=False),
        sa.Column("message_sid", sa.String(34), nullable=False),
        sa.Column("participant_sid", sa.String(34), nullable=False),
        sa.Column("channel_message_sid", sa.String(34)),
        sa.Column("error_code", sa.Integer),
        *_stamps(),
    )
    op.create_table(
        "conversation_webhooks",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("chat_service_sid", sa.String(34), nullable=False),
        sa.Column("conversation_sid", sa.String(34), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("triggers", sa.Text, nullable=False),
        sa.Column("replay_after", sa.Integer),
        *_stamps(),
    )
    op.create_table(
        "conversation_users",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("chat_service_sid", sa.String(34), nullable=False),
        sa.Column("identity", sa.String(256), nullable=False),
        sa.Column("friendly_name", sa.String(256)),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("role_sid", sa.String(34)),
        *_stamps(),
    )
    op.create_table(
        "conversation_roles",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("chat_service_sid", sa.String(34), nullable=False),
        sa.Column("friendly_name", sa.String(256), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("permissions", sa.Text, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "conversation_addresses",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("friendly_name", sa.String(256)),
        sa.Column("auto_creation_enabled", sa.Boolean, nullable=False),
        sa.Column("auto_creation_type", sa.String(16), nullable=False),
        sa.Column("conversation_service_sid", sa.String(34)),
        sa.Column("webhook_url", sa.Text),
        sa.Column("webhook_method", sa.String(8), nullable=False),
        sa.Column("webhook_filters", sa.Text, nullable=False),
        sa.Column("address_country", sa.String(8)),
        *_stamps(),
    )
    op.create_index("ix_conversation_services_account", "conversation_services", ["account_sid", "id"])
    op.create_index("ix_conversations_service", "conversations", ["chat_service_sid", "id"])
    op.create_index("ux_conversations_unique_name", "conversations", ["chat_service_sid", "unique_name"],
                    unique=True)
    op.create_index("ix_conversation_participants_conversation", "conversation_participants",
                    ["conversation_sid", "id"])
    # Inbound routing: which conversation is this handset talking to through this number?
    op.create_index("ix_conversation_participants_binding", "conversation_participants",
                    ["proxy_address", "address"])
    op.create_index("ix_conversation_participants_identity", "conversation_participants", ["identity"])
    op.create_index("ux_conversation_messages_index", "conversation_messages", ["conversation_sid", "idx"],
                    unique=True)
    op.create_index("ix_conversation_receipts_message", "conversation_receipts", ["message_sid", "id"])
    op.create_index("ix_conversation_webhooks_conversation", "conversation_webhooks", ["conversation_sid", "id"])
    op.create_index("ux_conversation_users_identity", "conversation_users", ["chat_service_sid", "identity"],
                    unique=True)
    op.create_index("ix_conversation_roles_service", "conversation_roles", ["chat_service_sid", "id"])
    op.create_index("ux_conversation_addresses_address", "conversation_addresses", ["type", "address"],
                    unique=True)
