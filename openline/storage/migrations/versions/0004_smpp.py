"""SMPP carriers: message parts with their carrier ids and receipts, receipts that matched
nothing (yet), and inbound parts waiting for the rest of their concatenated message.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_parts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("message_sid", sa.String(34), nullable=False, index=True),
        sa.Column("part_index", sa.Integer, nullable=False),
        sa.Column("part_count", sa.Integer, nullable=False),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("carrier_message_id", sa.String(128), nullable=False),
        sa.Column("id_key", sa.String(128), nullable=False),  # normalised id: receipts match on it
        sa.Column("state", sa.String(16), nullable=False),  # submitted | delivered | undelivered | ...
        sa.Column("error_code", sa.Integer),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("receipt_at", sa.DateTime()),
        sa.UniqueConstraint("message_sid", "part_index", name="uq_message_parts_part"),
    )
    op.create_index("ix_message_parts_carrier_id", "message_parts", ["carrier", "id_key"])
    op.create_table(
        "unmatched_receipts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("id_key", sa.String(128), nullable=False),
        sa.Column("receipt_id", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.String(16)),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_unmatched_receipts_carrier_id", "unmatched_receipts", ["carrier", "id_key"])
    op.create_table(
        "inbound_parts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("group_key", sa.String(200), nullable=False),  # source|destination|ref|total
        sa.Column("part_index", sa.Integer, nullable=False),
        sa.Column("part_count", sa.Integer, nullable=False),
        sa.Column("from_addr", sa.String(64), nullable=False),
        sa.Column("to_addr", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("carrier", "group_key", "part_index", name="uq_inbound_parts_part"),
    )
