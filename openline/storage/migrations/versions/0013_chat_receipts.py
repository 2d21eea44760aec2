"""Web chat: delivery receipts for chat participants carry their own status (delivered, read).

A chat participant's receipt has no SMS behind it, so its status lives on the row; the unique
(message, participant) pair lets several sockets of one identity record a receipt once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    with op.batch_alter_table("conversation_receipts") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=True))
    op.create_index("ix_conversation_receipts_message_participant", "conversation_receipts",
                    ["message_sid", "participant_sid"], unique=True)
