"""Platform core: accounts, API keys, applications, incoming phone numbers, blobs.

Migrations are forward-only: each one spells out its own tables rather than importing
the current schema module, so that replaying history always builds the same database.
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column[datetime]]:
    return [sa.Column("date_created", sa.DateTime(), nullable=False),
            sa.Column("date_updated", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("owner_account_sid", sa.String(34), nullable=False, index=True),
        sa.Column("friendly_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("auth_token", sa.String(32), nullable=False),
        *_stamps(),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), sa.ForeignKey("accounts.sid"), nullable=False, index=True),
        sa.Column("friendly_name", sa.String(64), nullable=False),
        sa.Column("key_type", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "applications",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), sa.ForeignKey("accounts.sid"), nullable=False, index=True),
        sa.Column("friendly_name", sa.String(255), nullable=False),
        sa.Column("api_version", sa.String(16), nullable=False),
        sa.Column("voice_url", sa.Text),
        sa.Column("voice_method", sa.String(8), nullable=False),
        sa.Column("voice_fallback_url", sa.Text),
        sa.Column("voice_fallback_method", sa.String(8), nullable=False),
        sa.Column("voice_caller_id_lookup", sa.Boolean, nullable=False),
        sa.Column("status_callback", sa.Text),
        sa.Column("status_callback_method", sa.String(8), nullable=False),
        sa.Column("sms_url", sa.Text),
        sa.Column("sms_method", sa.String(8), nullable=False),
        sa.Column("sms_fallback_url", sa.Text),
        sa.Column("sms_fallback_method", sa.String(8), nullable=False),
        sa.Column("sms_status_callback", sa.Text),
        sa.Column("message_status_callback", sa.Text),
        sa.Column("public_application_connect_enabled", sa.Boolean, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "incoming_phone_numbers",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sid", sa.String(34), nullable=False, unique=True),
        sa.Column("account_sid", sa.String(34), sa.ForeignKey("accounts.sid"), nullable=False, index=True),
        sa.Column("phone_number", sa.String(32), nullable=False, unique=True),
        sa.Column("friendly_name", sa.String(255), nullable=False),
        sa.Column("number_type", sa.String(16), nullable=False),
        sa.Column("iso_country", sa.String(2), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("api_version", sa.String(16), nullable=False),
        sa.Column("voice_capable", sa.Boolean, nullable=False),
        sa.Column("sms_capable", sa.Boolean, nullable=False),
        sa.Column("mms_capable", sa.Boolean, nullable=False),
        sa.Column("fax_capable", sa.Boolean, nullable=False),
        sa.Column("sms_url", sa.Text),
        sa.Column("sms_method", sa.String(8), nullable=False),
        sa.Column("sms_fallback_url", sa.Text),
        sa.Column("sms_fallback_method", sa.String(8), nullable=False),
        sa.Column("sms_application_sid", sa.String(34)),
        sa.Column("voice_url", sa.Text),
        sa.Column("voice_method", sa.String(8), nullable=False),
        sa.Column("voice_fallback_url", sa.Text),
        sa.Column("voice_fallback_method", sa.String(8), nullable=False),
        sa.Column("voice_application_sid", sa.String(34)),
        sa.Column("voice_caller_id_lookup", sa.Boolean, nullable=False),
        sa.Column("voice_receive_mode", sa.String(8), nullable=False),
        sa.Column("status_callback", sa.Text),
        sa.Column("status_callback_method", sa.String(8), nullable=False),
        sa.Column("trunk_sid", sa.String(34)),
        sa.Column("identity_sid", sa.String(34)),
        sa.Column("address_sid", sa.String(34)),
        sa.Column("bundle_sid", sa.String(34)),
        sa.Column("emergency_status", sa.String(16), nullable=False),
        sa.Column("emergency_address_sid", sa.String(34)),
        *_stamps(),
    )
    op.create_table(
        "blobs",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
    )
