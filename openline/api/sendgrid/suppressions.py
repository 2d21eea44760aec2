"""Suppressions (``/v3/suppression/...``, global unsubscribes) and unsubscribe groups (``/v3/asm/...``)."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.responses import Response

from openline.api.framework import empty_response
from openline.api.sendgrid.framework import SgCall, SgOperation, sg_json
from openline.core.email import SendGridError
from openline.services.email_admin import EmailAdmin

LISTS = ("bounces", "blocks", "spam_reports", "invalid_emails")


def _group_id(call: SgCall) -> int:
    raw = call.params["group_id"]
    if not raw.isdigit():
        raise SendGridError(404, "group not found")
    return int(raw)


def operations(admin: EmailAdmin) -> list[SgOperation]:
    def list_of(kind: str) -> SgOperation:
        async def handler(call: SgCall) -> Response:
            limit, offset = call.int_query("limit", 500, 1, 500), call.int_query("offset", 0, 0, 10**9)
            start = call.int_query("start_time", 0, 0, 2**40) or None
            end = call.int_query("end_time", 0, 0, 2**40) or None
            return sg_json(await admin.list_suppressions(call.account_sid, kind, 0, limit, offset, None, start, end))
        return SgOperation("GET", f"/v3/suppression/{kind}", handler, "suppression.read")

    def delete_of(kind: str) -> SgOperation:
        async def handler(call: SgCall) -> Response:
            body = call.obj()
            if body.get("delete_all") is True:
                await admin.remove_suppressions(call.account_sid, kind, 0, None)
            elif isinstance(body.get("emails"), list):
                await admin.remove_suppressions(call.account_sid, kind, 0, [str(e) for e in body["emails"]])
            else:
                raise SendGridError(400, "expected delete_all: true or an emails array", "emails")
            return empty_response()
        return SgOperation("DELETE", f"/v3/suppression/{kind}", handler, "suppression.delete")

    def one_of(kind: str) -> list[SgOperation]:
        async def fetch(call: SgCall) -> Response:
            return sg_json(await admin.list_suppressions(call.account_sid, kind, 0, 1, 0,
                                                         unquote(call.params["email"])))

        async def remove(call: SgCall) -> Response:
            await admin.remove_suppressions(call.account_sid, kind, 0, [unquote(call.params["email"])])
            return empty_response()
        path = f"/v3/suppression/{kind}/{{email}}"
        return [SgOperation("GET", path, fetch, "suppression.read"),
                SgOperation("DELETE", path, remove, "suppression.delete")]

    async def add_global(call: SgCall) -> Response:
        added = await admin.add_suppressions(call.account_sid, "unsubscribes", 0, call.obj().get("recipient_emails"),
                                             "recipient_emails", "added through the API")
        return sg_json({"recipient_emails": added}, 201)

    async def list_global(call: SgCall) -> Response:
        limit, offset = call.int_query("limit", 500, 1, 500), call.int_query("offset", 0, 0, 10**9)
        return sg_json(await admin.list_suppressions(call.account_sid, "unsubscribes", 0, limit, offset))

    async def get_global(call: SgCall) -> Response:
        email = unquote(call.params["email"])
        found = await admin.list_suppressions(call.account_sid, "unsubscribes", 0, 1, 0, email)
        return sg_json({"recipient_email": found[0]["email"]} if found else {})

    async def delete_global(call: SgCall) -> Response:
        await admin.remove_suppressions(call.account_sid, "unsubscribes", 0, [unquote(call.params["email"])])
        return empty_response()

    async def create_group(call: SgCall) -> Response:
        return sg_json(await admin.create_group(call.account_sid, call.obj()), 201)

    async def list_groups(call: SgCall) -> Response:
        return sg_json(await admin.list_groups(call.account_sid))

    async def get_group(call: SgCall) -> Response:
        return sg_json(await admin.get_group(call.account_sid, _group_id(call)))

    async def update_group(call: SgCall) -> Response:
        return sg_json(await admin.update_group(call.account_sid, _group_id(call), call.obj()))

    async def delete_group(call: SgCall) -> Response:
        await admin.delete_group(call.account_sid, _group_id(call))
        return empty_response()

    async def add_to_group(call: SgCall) -> Response:
        added = await admin.add_suppressions(call.account_sid, "group", _group_id(call),
                                             call.obj().get("recipient_emails"), "recipient_emails",
                                             "added through the API")
        return sg_json({"recipient_emails": added}, 201)

    async def list_group(call: SgCall) -> Response:
        group_id = _group_id(call)
        await admin.check_group(call.account_sid, group_id)
        rows = await admin.list_suppressions(call.account_sid, "group", group_id, 10_000, 0)
        return sg_json([r["email"] for r in rows])

    async def remove_from_group(call: SgCall) -> Response:
        group_id = _group_id(call)
        await admin.check_group(call.account_sid, group_id)
        await admin.remove_suppressions(call.account_sid, "group", group_id, [unquote(call.params["email"])])
        return empty_response()

    ops: list[SgOperation] = []
    for kind in LISTS:
        ops += [list_of(kind), delete_of(kind), *one_of(kind)]
    group = "/v3/asm/groups/{group_id}"
    ops += [
        SgOperation("GET", "/v3/suppression/unsubscribes", list_global, "suppression.read"),
        SgOperation("POST", "/v3/asm/suppressions/global", add_global, "suppression.create"),
        SgOperation("GET", "/v3/asm/suppressions/global/{email}", get_global, "suppression.read"),
        SgOperation("DELETE", "/v3/asm/suppressions/global/{email}", delete_global, "suppression.delete"),
        SgOperation("POST", "/v3/asm/groups", create_group, "asm.groups.create"),
        SgOperation("GET", "/v3/asm/groups", list_groups, "asm.groups.read"),
        SgOperation("GET", group, get_group, "asm.groups.read"),
        SgOperation("PATCH", group, update_group, "asm.groups.update"),
        SgOperation("DELETE", group, delete_group, "asm.groups.delete"),
        SgOperation("POST", group + "/suppressions", add_to_group, "suppression.create"),
        SgOperation("GET", group + "/suppressions", list_group, "suppression.read"),
        SgOperation("DELETE", group + "/suppressions/{email}", remove_from_group, "suppression.delete"),
    ]
    return ops
