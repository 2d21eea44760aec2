"""Scale-out: per-sender pacing held in the database, so that every worker process of a cluster
draws from one budget per sender (the rate does not multiply with the process count), and the
slots already promised to queued messages."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "sender_pacing",
        sa.Column("sender", sa.String(64), primary_key=True),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("promised_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "pacing_tickets",
        sa.Column("message_sid", sa.String(34), primary_key=True),
        sa.Column("slot_at", sa.DateTime(), nullable=False),
    )
