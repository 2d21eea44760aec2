"""``/v3/templates`` and their versions (legacy and dynamic generations)."""

from __future__ import annotations

from starlette.responses import Response

from openline.api.framework import empty_response
from openline.api.sendgrid.framework import SgCall, SgOperation, sg_json
from openline.core.email import SendGridError
from openline.services.email_admin import EmailAdmin


def operations(admin: EmailAdmin) -> list[SgOperation]:
    async def create(call: SgCall) -> Response:
        return sg_json(await admin.create_template(call.account_sid, call.obj()), 201)

    async def listing(call: SgCall) -> Response:
        raw = call.query("generations") or "legacy"
        generations = [g.strip() for g in raw.split(",")]
        if not all(g in ("legacy", "dynamic") for g in generations):
            raise SendGridError(400, "generations must be legacy, dynamic or both", "generations")
        size = call.int_query("page_size", 200, 1, 200)
        token = call.query("page_token")
        after = int(token) if token and token.isdigit() else None
        items, more = await admin.list_templates(call.account_sid, generations, size, after)
        base = str(call.request.url).split("?")[0]
        meta = {"self": str(call.request.url)}
        if more is not None:
            meta["next"] = f"{base}?generations={raw}&page_size={size}&page_token={more}"
        # Without page_size SendGrid answers the legacy shape {"templates": [...]}.
        return sg_json({"result": items, "_metadata": meta} if call.query("page_size") else {"templates": items})

    async def fetch(call: SgCall) -> Response:
        return sg_json(await admin.get_template(call.account_sid, call.params["template_id"]))

    async def update(call: SgCall) -> Response:
        return sg_json(await admin.update_template(call.account_sid, call.params["template_id"], call.obj()))

    async def delete(call: SgCall) -> Response:
        await admin.delete_template(call.account_sid, call.params["template_id"])
        return empty_response()

    async def create_version(call: SgCall) -> Response:
        return sg_json(await admin.create_version(call.account_sid, call.params["template_id"], call.obj()), 201)

    async def fetch_version(call: SgCall) -> Response:
        return sg_json(await admin.get_version(call.account_sid, call.params["template_id"],
                                               call.params["version_id"]))

    async def update_version(call: SgCall) -> Response:
        return sg_json(await admin.update_version(call.account_sid, call.params["template_id"],
                                                  call.params["version_id"], call.obj()))

    async def activate(call: SgCall) -> Response:
        return sg_json(await admin.activate_version(call.account_sid, call.params["template_id"],
                                                    call.params["version_id"]))

    async def delete_version(call: SgCall) -> Response:
        await admin.delete_version(call.account_sid, call.params["template_id"], call.params["version_id"])
        return empty_response()

    one = "/v3/templates/{template_id}"
    version = one + "/versions/{version_id}"
    return [
        SgOperation("POST", "/v3/templates", create, "templates.create"),
        SgOperation("GET", "/v3/templates", listing, "templates.read"),
        SgOperation("GET", one, fetch, "templates.read"),
        SgOperation("PATCH", one, update, "templates.update"),
        SgOperation("DELETE", one, delete, "templates.delete"),
        SgOperation("POST", one + "/versions", create_version, "templates.versions.create"),
        SgOperation("GET", version, fetch_version, "templates.versions.read"),
        SgOperation("PATCH", version, update_version, "templates.versions.update"),
        SgOperation("DELETE", version, delete_version, "templates.versions.delete"),
        SgOperation("POST", version + "/activate", activate, "templates.versions.activate.create"),
    ]
