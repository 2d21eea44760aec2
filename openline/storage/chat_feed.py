"""Web chat events between processes: who must look at which conversation now.

A message added by any process (REST, inbound SMS on a worker, another socket) must reach the
live chat sockets of every API process. On PostgreSQL the writer NOTIFYs ``openline_chat``
inside its own transaction, so the notice is delivered exactly when the message is visible;
every API process LISTENs (``JobNotifications`` on this channel). On SQLite there is one
process: the notice is handed over in-process once the transaction has committed.
Payloads are small JSON objects (PostgreSQL caps them at 8000 bytes); the rows stay the truth.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import text

from openline.storage.database import Conn, Database
from openline.storage.notify import JobNotifications

CHAT_CHANNEL = "openline_chat"
_NOTIFY = text(f"SELECT pg_notify('{CHAT_CHANNEL}', :payload)")

Listener = Callable[[str | None], None]  # None: notices may have been missed, look at everything


class ChatFeed:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._listener: Listener | None = None
        self.listening: JobNotifications | None = None

    @property
    def shared(self) -> bool:
        """Whether other processes can write messages (PostgreSQL): notices go through the database."""
        return not self._db.dialect.is_sqlite

    def attach(self, listener: Listener) -> None:
        """The process's hub; on PostgreSQL it is fed by a LISTEN connection started with the API."""
        self._listener = listener
        if self.shared:
            self.listening = JobNotifications(self._db.dialect, listener, channel=CHAT_CHANNEL)

    async def announce(self, conn: Conn, payload: str) -> None:
        """Tell every process once the caller's transaction commits."""
        if self.shared:
            await conn.execute(_NOTIFY, {"payload": payload})
        elif self._listener is not None:
            listener = self._listener
            conn.after_commit(lambda: listener(payload))

    async def announce_now(self, payload: str) -> None:
        """A notice with no data behind it (typing): sent at once."""
        if self.shared:
            async with self._db.transaction() as conn:
                await conn.execute(_NOTIFY, {"payload": payload})
        elif self._listener is not None:
            self._listener(payload)


def message_notice(conversation_sid: str) -> str:
    """New messages in that conversation (the sockets read them from the table)."""
    return json.dumps({"k": "message", "c": conversation_sid})


def typing_notice(conversation_sid: str, participant_sid: str, identity: str) -> str:
    return json.dumps({"k": "typing", "c": conversation_sid, "p": participant_sid, "i": identity})


def read_notice(conversation_sid: str, participant_sid: str, identity: str, index: int) -> str:
    return json.dumps({"k": "read", "c": conversation_sid, "p": participant_sid, "i": identity, "x": index})


def message_changed_notice(conversation_sid: str, message_sid: str, index: int, removed: bool) -> str:
    """A message edited or removed (the sockets that have it are told; an edit is read from the table)."""
    return json.dumps({"k": "removed" if removed else "updated", "c": conversation_sid, "m": message_sid,
                       "x": index})
