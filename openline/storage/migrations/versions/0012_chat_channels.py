"""Chat channels: Content templates (HX…) and the content a message was sent with."""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("content_sid", sa.String(34), nullable=True))
        batch.add_column(sa.Column("content_variables", sa.Text(), nullable=True))
        batch.add_column(sa.Column("profile_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("reply_token", sa.String(255), nullable=True))
    # The customer-service window asks for a user's latest message to a sender.
    op.create_index("ix_messages_conversation_pair", "messages", ["from_addr", "to_addr", "direction"])
    op.create_table(
        "contents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), nullable=False, index=True),
        sa.Column("friendly_name", sa.String(255), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("variables", sa.Text(), nullable=False),
        sa.Column("types", sa.Text(), nullable=False),
        sa.Column("whatsapp_approval", sa.Text(), nullable=True),
        sa.Column("date_created", sa.DateTime(), nullable=False),
        sa.Column("date_updated", sa.DateTime(), nullable=False),
    )
