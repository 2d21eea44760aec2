"""Messages Openline sends on the account's behalf (Verify codes) are concealed from the
Messages API: the code must not be readable while it is live. And an index for the hot
"which messaging service holds this number?" lookup made on every send.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("concealed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_service_senders_address", "service_senders", ["address", "kind"])
