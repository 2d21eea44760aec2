"""Email resources an account manages: dynamic templates and versions, suppressions and
unsubscribe groups, inbound parse settings. Values are SendGrid's JSON shapes (dicts)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

from openline.codecs.handlebars import Template, TemplateError
from openline.core.clock import Clock
from openline.core.email import SendGridError, normalize_email, valid_email
from openline.storage.database import Database
from openline.storage.repositories.email import EmailSettingsRepository, SuppressionRepository, TemplateRepository

SUPPRESSION_KINDS = ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes")
MAX_TEMPLATES = 300  # SendGrid's per-account limit
MAX_VERSIONS = 300
MAX_GROUPS = 200
PARSE_PREFIX = "parse:"
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _sg_date(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def not_found(what: str) -> SendGridError:
    return SendGridError(404, f"{what} not found")


def _text(body: dict[str, Any], key: str, limit: int, required: bool) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise SendGridError(400, f"{key} is required", key)
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise SendGridError(400, f"{key} must be a string of at most {limit} characters", key)
    return value


def _check_handlebars(source: str, field: str) -> None:
    try:
        Template.parse(source)
    except TemplateError as exc:
        raise SendGridError(400, f"The {field} is not a valid Handlebars template: {exc}", field) from None


class EmailAdmin:
    def __init__(self, db: Database, clock: Clock, templates: TemplateRepository,
                 suppressions: SuppressionRepository, settings: EmailSettingsRepository) -> None:
        self._db = db
        self._clock = clock
        self._templates = templates
        self._suppressions = suppressions
        self._settings = settings

    # Templates.
    def _version_json(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"id": row["version_id"], "template_id": row["template_id"], "active": 1 if row["active"] else 0,
                "name": row["name"], "subject": row["subject"], "html_content": row["html_content"],
                "plain_content": row["plain_content"], "generate_plain_content": False, "editor": "code",
                "updated_at": _sg_date(row["date_updated"])}

    def _template_json(self, row: dict[str, Any], versions: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": row["template_id"], "name": row["name"], "generation": row["generation"],
                "updated_at": _sg_date(row["date_updated"]), "versions": [self._version_json(v) for v in versions]}

    async def create_template(self, account_sid: str, body: dict[str, Any]) -> dict[str, Any]:
        name = _text(body, "name", 100, True)
        generation = body.get("generation", "legacy")
        if generation not in ("legacy", "dynamic"):
            raise SendGridError(400, "generation must be legacy or dynamic", "generation")
        template_id = ("d-" + uuid.uuid4().hex) if generation == "dynamic" else str(uuid.uuid4())
        now = self._clock.now()
        row = {"template_id": template_id, "account_sid": account_sid, "name": name, "generation": generation,
               "date_updated": now}
        async with self._db.transaction() as conn:
            await self._templates.add(conn, row)
        return self._template_json(row, [])

    async def list_templates(self, account_sid: str, generations: list[str], size: int,
                             after: int | None) -> tuple[list[dict[str, Any]], int | None]:
        async with self._db.read() as conn:
            rows = await self._templates.page(conn, account_sid, generations, size + 1, after)
            more = len(rows) > size
            rows = rows[:size]
            result = [self._template_json(r, await self._templates.versions(conn, r["template_id"])) for r in rows]
        return result, (rows[-1]["id"] if more and rows else None)

    async def _template(self, conn: Any, account_sid: str, template_id: str) -> dict[str, Any]:
        row = await self._templates.get(conn, template_id, account_sid)
        if row is None:
            raise not_found("template")
        return row

    async def get_template(self, account_sid: str, template_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await self._template(conn, account_sid, template_id)
            return self._template_json(row, await self._templates.versions(conn, template_id))

    async def update_template(self, account_sid: str, template_id: str, body: dict[str, Any]) -> dict[str, Any]:
        name = _text(body, "name", 100, True)
        async with self._db.transaction() as conn:
            await self._template(conn, account_sid, template_id)
            await self._templates.change(conn, template_id, {"name": name, "date_updated": self._clock.now()})
        return await self.get_template(account_sid, template_id)

    async def delete_template(self, account_sid: str, template_id: str) -> None:
        async with self._db.transaction() as conn:
            await self._template(conn, account_sid, template_id)
            await self._templates.delete(conn, template_id)

    def _version_fields(self, body: dict[str, Any], partial: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key, limit in (("name", 100), ("subject", 255), ("html_content", 1_048_576),
                           ("plain_content", 1_048_576)):
            value = _text(body, key, limit, required=not partial and key in ("name", "subject"))
            if value is not None:
                if key != "name":
                    _check_handlebars(value, key)
                fields[key] = value
        return fields

    async def create_version(self, account_sid: str, template_id: str, body: dict[str, Any]) -> dict[str, Any]:
        fields = self._version_fields(body, partial=False)
        active = body.get("active", 0) in (1, True)
        now = self._clock.now()
        row = {"version_id": str(uuid.uuid4()), "template_id": template_id, "html_content": "", "plain_content": "",
               **fields, "active": False, "date_updated": now}
        async with self._db.transaction() as conn:
            await self._template(conn, account_sid, template_id)
            versions = await self._templates.versions(conn, template_id)
            if len(versions) >= MAX_VERSIONS:
                raise SendGridError(400, "too many versions for this template")
            if active or not versions:  # the first version is active, as SendGrid does
                await self._templates.deactivate_all(conn, template_id)
                row["active"] = True
            await self._templates.add_version(conn, row)
            await self._templates.change(conn, template_id, {"date_updated": now})
        return self._version_json(row)

    async def _version(self, conn: Any, account_sid: str, template_id: str, version_id: str) -> dict[str, Any]:
        await self._template(conn, account_sid, template_id)
        row = await self._templates.version(conn, template_id, version_id)
        if row is None:
            raise not_found("version")
        return row

    async def get_version(self, account_sid: str, template_id: str, version_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            return self._version_json(await self._version(conn, account_sid, template_id, version_id))

    async def update_version(self, account_sid: str, template_id: str, version_id: str, body: dict[str, Any]
                             ) -> dict[str, Any]:
        fields = self._version_fields(body, partial=True)
        async with self._db.transaction() as conn:
            await self._version(conn, account_sid, template_id, version_id)
            if body.get("active") in (1, True):
                await self._templates.deactivate_all(conn, template_id)
                fields["active"] = True
            await self._templates.change_version(conn, version_id, {**fields, "date_updated": self._clock.now()})
            return self._version_json(await self._version(conn, account_sid, template_id, version_id))

    async def activate_version(self, account_sid: str, template_id: str, version_id: str) -> dict[str, Any]:
        async with self._db.transaction() as conn:
            await self._version(conn, account_sid, template_id, version_id)
            await self._templates.deactivate_all(conn, template_id)
            await self._templates.change_version(conn, version_id, {"active": True,
                                                                    "date_updated": self._clock.now()})
            return self._version_json(await self._version(conn, account_sid, template_id, version_id))

    async def delete_version(self, account_sid: str, template_id: str, version_id: str) -> None:
        async with self._db.transaction() as conn:
            await self._version(conn, account_sid, template_id, version_id)
            await self._templates.delete_version(conn, version_id)

    # Suppressions.
    @staticmethod
    def _emails(values: Any, field: str) -> list[str]:
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise SendGridError(400, f"{field} must be a non-empty array of email addresses", field)
        for value in values:
            if not valid_email(value.strip()):
                raise SendGridError(400, f"{value} is not a valid email address", field)
        return [normalize_email(v) for v in values]

    async def add_suppressions(self, account_sid: str, kind: str, group_id: int, emails: Any, field: str,
                               reason: str) -> list[str]:
        addresses = self._emails(emails, field)
        now = int(self._clock.now().timestamp())
        async with self._db.transaction() as conn:
            if group_id and await self._suppressions.group(conn, account_sid, group_id) is None:
                raise not_found("group")
            for address in addresses:
                await self._suppressions.add(conn, account_sid, kind, group_id, address, reason, "", now)
        return addresses

    async def list_suppressions(self, account_sid: str, kind: str, group_id: int, limit: int, offset: int,
                                email: str | None = None, start: int | None = None, end: int | None = None
                                ) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            rows = await self._suppressions.entries(conn, account_sid, kind, group_id, limit, offset,
                                                 normalize_email(email) if email else None, start, end)
        if kind in ("unsubscribes", "group"):
            return [{"email": r["email"], "created": r["created"]} for r in rows]
        return [{"created": r["created"], "email": r["email"], "reason": r["reason"], "status": r["status"]}
                for r in rows]

    async def remove_suppressions(self, account_sid: str, kind: str, group_id: int, emails: list[str] | None
                                  ) -> int:
        async with self._db.transaction() as conn:
            return await self._suppressions.remove(conn, account_sid, kind, group_id,
                                                   [normalize_email(e) for e in emails] if emails else None)

    async def check_group(self, account_sid: str, group_id: int) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await self._suppressions.group(conn, account_sid, group_id)
        if row is None:
            raise not_found("group")
        return row

    # Unsubscribe groups.
    def _group_json(self, row: dict[str, Any], count: int) -> dict[str, Any]:
        return {"id": row["id"], "name": row["name"], "description": row["description"],
                "is_default": row["is_default"], "unsubscribes": count}

    async def create_group(self, account_sid: str, body: dict[str, Any]) -> dict[str, Any]:
        name = _text(body, "name", 30, True)
        description = _text(body, "description", 100, False) or ""
        is_default = body.get("is_default", False)
        if not isinstance(is_default, bool):
            raise SendGridError(400, "is_default must be a boolean", "is_default")
        async with self._db.transaction() as conn:
            groups = await self._suppressions.groups(conn, account_sid)
            if len(groups) >= MAX_GROUPS:
                raise SendGridError(400, "too many unsubscribe groups")
            if any(g["name"] == name for g in groups):
                raise SendGridError(400, "group name is already in use", "name")
            row: dict[str, Any] = {"account_sid": account_sid, "name": name, "description": description,
                                   "is_default": is_default}
            row["id"] = await self._suppressions.add_group(conn, row)
        return self._group_json(row, 0)

    async def list_groups(self, account_sid: str) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            counts = await self._suppressions.group_counts(conn, account_sid)
            return [self._group_json(g, counts.get(g["id"], 0))
                    for g in await self._suppressions.groups(conn, account_sid)]

    async def get_group(self, account_sid: str, group_id: int) -> dict[str, Any]:
        row = await self.check_group(account_sid, group_id)
        async with self._db.read() as conn:
            counts = await self._suppressions.group_counts(conn, account_sid)
        return self._group_json(row, counts.get(group_id, 0))

    async def update_group(self, account_sid: str, group_id: int, body: dict[str, Any]) -> dict[str, Any]:
        await self.check_group(account_sid, group_id)
        changes: dict[str, Any] = {}
        for key, limit in (("name", 30), ("description", 100)):
            value = _text(body, key, limit, False)
            if value is not None:
                changes[key] = value
        if "is_default" in body:
            if not isinstance(body["is_default"], bool):
                raise SendGridError(400, "is_default must be a boolean", "is_default")
            changes["is_default"] = body["is_default"]
        if changes:
            async with self._db.transaction() as conn:
                await self._suppressions.change_group(conn, group_id, changes)
        return await self.get_group(account_sid, group_id)

    async def delete_group(self, account_sid: str, group_id: int) -> None:
        await self.check_group(account_sid, group_id)
        async with self._db.transaction() as conn:
            await self._suppressions.delete_group(conn, account_sid, group_id)

    # Inbound parse settings.
    async def add_parse(self, account_sid: str, body: dict[str, Any], replace: bool = False) -> dict[str, Any]:
        hostname = (_text(body, "hostname", 253, True) or "").lower()
        url = _text(body, "url", 2000, True) or ""
        if not _HOSTNAME.match(hostname):
            raise SendGridError(400, "hostname must be a domain name", "hostname")
        if not url.startswith(("http://", "https://")):
            raise SendGridError(400, "url must be an http or https URL", "url")
        setting = {"hostname": hostname, "url": url, "spam_check": bool(body.get("spam_check", False)),
                   "send_raw": bool(body.get("send_raw", False))}
        async with self._db.transaction() as conn:
            taken = await self._settings.with_prefix(conn, None, PARSE_PREFIX + hostname)
            if any(r["name"] == PARSE_PREFIX + hostname and (r["account_sid"] != account_sid or not replace)
                   for r in taken):
                raise SendGridError(400, "A parse setting for this hostname already exists", "hostname")
            await self._settings.put(conn, account_sid, PARSE_PREFIX + hostname, json.dumps(setting))
        return setting

    async def list_parse(self, account_sid: str) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            return [json.loads(r["value"]) for r in await self._settings.with_prefix(conn, account_sid, PARSE_PREFIX)]

    async def get_parse(self, account_sid: str, hostname: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            raw = await self._settings.get(conn, account_sid, PARSE_PREFIX + hostname.lower())
        if raw is None:
            raise not_found("parse setting")
        return dict(json.loads(raw))

    async def update_parse(self, account_sid: str, hostname: str, body: dict[str, Any]) -> dict[str, Any]:
        current = await self.get_parse(account_sid, hostname)
        merged = {**current, **{k: v for k, v in body.items() if k in ("url", "spam_check", "send_raw")}}
        return await self.add_parse(account_sid, merged, replace=True)

    async def delete_parse(self, account_sid: str, hostname: str) -> None:
        async with self._db.transaction() as conn:
            if not await self._settings.remove(conn, account_sid, PARSE_PREFIX + hostname.lower()):
                raise not_found("parse setting")

    async def parse_target(self, hostname: str) -> tuple[str, dict[str, Any]] | None:
        """Which account and URL take mail for this hostname (inbound)."""
        async with self._db.read() as conn:
            rows = await self._settings.with_prefix(conn, None, PARSE_PREFIX + hostname.lower())
        for row in rows:
            if row["name"] == PARSE_PREFIX + hostname.lower():
                return row["account_sid"], json.loads(row["value"])
        return None
