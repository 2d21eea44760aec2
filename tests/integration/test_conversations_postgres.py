"""The cross-channel Conversations scenarios again, on PostgreSQL (the scale-out store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import postgres_server
from tests.integration.test_conversations_channels import (  # noqa: F401  (collected here against PostgreSQL)
    receiver,
    test_address_configuration_opens_conversations,
    test_chat_and_two_handsets,
    test_pre_event_blocks_and_modifies,
)
from tests.support.server import OpenlineServer

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[OpenlineServer]:
    with postgres_server(tmp_path_factory, postgres_admin_url) as srv:
        yield srv
