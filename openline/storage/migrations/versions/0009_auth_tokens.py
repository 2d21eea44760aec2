"""Auth token rotation (accounts v1 AuthTokens): a secondary token beside the primary one."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("secondary_auth_token", sa.String(32), nullable=True))
        batch.add_column(sa.Column("secondary_token_created", sa.DateTime(), nullable=True))
