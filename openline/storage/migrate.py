"""Forward-only schema migrations (Alembic), and the check that a database matches this code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class SchemaStatus(StrEnum):
    CURRENT = "current"
    EMPTY = "empty"  # no Openline tables yet
    BEHIND = "behind"  # older revision: `openline migrate` brings it forward
    AHEAD = "ahead"  # a revision this code does not know: a newer Openline migrated it


@dataclass(frozen=True, slots=True)
class SchemaState:
    status: SchemaStatus
    current: tuple[str, ...]
    head: str

    def describe(self) -> str:
        have = ", ".join(self.current) or "none"
        return {
            SchemaStatus.CURRENT: f"schema is current (revision {self.head})",
            SchemaStatus.EMPTY: f"database has no Openline schema yet (this Openline needs revision {self.head}); "
            "run `openline migrate`",
            SchemaStatus.BEHIND: f"database schema is behind (revision {have}, this Openline needs {self.head}); "
            "run `openline migrate`",
            SchemaStatus.AHEAD: f"database schema is ahead (revision {have} is unknown to this Openline, which "
            f"knows up to {self.head}); upgrade Openline instead of migrating down",
        }[self.status]


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError("no migrations found")
    return head


def inspect(engine: Engine) -> SchemaState:
    script = ScriptDirectory.from_config(_config())
    head = head_revision()
    with engine.connect() as conn:
        current = tuple(MigrationContext.configure(conn).get_current_heads())
    if not current:
        return SchemaState(SchemaStatus.EMPTY, current, head)
    known = {rev.revision for rev in script.walk_revisions()}
    if any(rev not in known for rev in current):
        return SchemaState(SchemaStatus.AHEAD, current, head)
    if current == (head,):
        return SchemaState(SchemaStatus.CURRENT, current, head)
    return SchemaState(SchemaStatus.BEHIND, current, head)


def upgrade(engine: Engine) -> SchemaState:
    """Apply every migration this code has; refuses a database that is ahead."""
    state = inspect(engine)
    if state.status is SchemaStatus.AHEAD:
        raise SchemaMismatchError(state)
    if state.status is not SchemaStatus.CURRENT:
        cfg = _config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return inspect(engine)


class SchemaMismatchError(RuntimeError):
    def __init__(self, state: SchemaState) -> None:
        self.state = state
        super().__init__(state.describe())
