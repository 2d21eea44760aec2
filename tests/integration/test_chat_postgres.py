"""The chat-channel sandbox scenarios again, on PostgreSQL (the scale-out store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import postgres_server
from tests.integration.test_chat_sandbox import (  # noqa: F401  (collected here against PostgreSQL)
    receiver,
    test_content_templates,
    test_conversation_sms_and_whatsapp,
    test_whatsapp_window_inbound_webhook_and_read,
)
from tests.support.server import OpenlineServer

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[OpenlineServer]:
    with postgres_server(tmp_path_factory, postgres_admin_url) as srv:
        yield srv
