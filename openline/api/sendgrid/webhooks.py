"""Event webhook settings (plain and signed) and inbound parse settings."""

from __future__ import annotations

from starlette.responses import Response

from openline.api.framework import empty_response
from openline.api.sendgrid.framework import SgCall, SgOperation, sg_json
from openline.services.email_admin import EmailAdmin
from openline.services.email_events import EventWebhooks


def operations(events: EventWebhooks, admin: EmailAdmin) -> list[SgOperation]:
    async def get_settings(call: SgCall) -> Response:
        return sg_json(await events.get_settings(call.account_sid))

    async def patch_settings(call: SgCall) -> Response:
        return sg_json(await events.update_settings(call.account_sid, call.obj()))

    async def get_signed(call: SgCall) -> Response:
        return sg_json(await events.signing(call.account_sid))

    async def patch_signed(call: SgCall) -> Response:
        return sg_json(await events.set_signing(call.account_sid, call.obj().get("enabled")))

    async def test(call: SgCall) -> Response:
        await events.test(call.account_sid, call.obj().get("url"))
        return empty_response()

    async def add_parse(call: SgCall) -> Response:
        return sg_json(await admin.add_parse(call.account_sid, call.obj()), 201)

    async def list_parse(call: SgCall) -> Response:
        return sg_json({"result": await admin.list_parse(call.account_sid)})

    async def get_parse(call: SgCall) -> Response:
        return sg_json(await admin.get_parse(call.account_sid, call.params["hostname"]))

    async def patch_parse(call: SgCall) -> Response:
        return sg_json(await admin.update_parse(call.account_sid, call.params["hostname"], call.obj()))

    async def delete_parse(call: SgCall) -> Response:
        await admin.delete_parse(call.account_sid, call.params["hostname"])
        return empty_response()

    settings = "/v3/user/webhooks/event/settings"
    parse = "/v3/user/webhooks/parse/settings"
    return [
        SgOperation("GET", settings, get_settings, "user.webhooks.event.settings.read"),
        SgOperation("PATCH", settings, patch_settings, "user.webhooks.event.settings.update"),
        SgOperation("GET", settings + "/signed", get_signed, "user.webhooks.event.settings.read"),
        SgOperation("PATCH", settings + "/signed", patch_signed, "user.webhooks.event.settings.update"),
        SgOperation("POST", "/v3/user/webhooks/event/test", test, "user.webhooks.event.test.create"),
        SgOperation("POST", parse, add_parse, "user.webhooks.parse.settings.create"),
        SgOperation("GET", parse, list_parse, "user.webhooks.parse.settings.read"),
        SgOperation("GET", parse + "/{hostname}", get_parse, "user.webhooks.parse.settings.read"),
        SgOperation("PATCH", parse + "/{hostname}", patch_parse, "user.webhooks.parse.settings.update"),
        SgOperation("DELETE", parse + "/{hostname}", delete_parse, "user.webhooks.parse.settings.delete"),
    ]
