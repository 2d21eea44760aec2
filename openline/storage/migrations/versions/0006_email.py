"""Email (SendGrid v3 API): API keys, accepted requests, built messages, sandbox mailboxes,
dynamic templates, suppressions and unsubscribe groups, webhook settings, scheduled batches, DKIM domains.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "email_api_keys",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
        sa.Column("date_updated", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "email_requests",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(32), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False, index=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(64)),
        sa.Column("send_at", sa.DateTime()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "email_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sg_message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("message_id", sa.String(32), nullable=False, index=True),
        sa.Column("account_sid", sa.String(34), nullable=False, index=True),
        sa.Column("from_addr", sa.String(320), nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("date_created", sa.DateTime(), nullable=False),
        sa.Column("date_updated", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "email_mailbox",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("sg_message_id", sa.String(64), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_email_mailbox_address", "email_mailbox", ["address", "account_sid", "id"])
    op.create_table(
        "email_templates",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("template_id", sa.String(40), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("generation", sa.String(16), nullable=False),
        sa.Column("date_updated", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "email_template_versions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.String(40), nullable=False, unique=True),
        sa.Column("template_id", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("html_content", sa.Text, nullable=False),
        sa.Column("plain_content", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("date_updated", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "email_suppressions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created", sa.Integer, nullable=False),
        sa.UniqueConstraint("account_sid", "kind", "group_id", "email", name="uq_email_suppressions"),
    )
    op.create_index("ix_email_suppressions_email", "email_suppressions", ["account_sid", "email"])
    op.create_table(
        "email_asm_groups",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_sid", sa.String(34), nullable=False, index=True),
        sa.Column("name", sa.String(30), nullable=False),
        sa.Column("description", sa.String(100), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
    )
    op.create_table(
        "email_settings",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_sid", sa.String(34), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.UniqueConstraint("account_sid", "name", name="uq_email_settings"),
    )
    op.create_table(
        "email_batches",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(64), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False, index=True),
        sa.Column("status", sa.String(16)),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "email_domains",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("domain", sa.String(253), nullable=False, unique=True),
        sa.Column("selector", sa.String(63), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
