"""``POST /v3/mail/send``, batches (``/v3/mail/batch``) and scheduled sends, and API keys."""

from __future__ import annotations

from starlette.responses import Response

from openline.api.framework import empty_response
from openline.api.sendgrid.framework import SgCall, SgOperation, sg_json
from openline.core.email import SendGridError
from openline.services.email import MailService
from openline.services.email_keys import EmailKeys, key_json


def operations(mail: MailService, keys: EmailKeys) -> list[SgOperation]:
    async def send(call: SgCall) -> Response:
        if call.body is None:
            raise SendGridError(400, "Bad Request: a JSON body is required", None)
        _, message_id = await mail.accept(call.account_sid, call.body)
        if message_id is None:  # mail_settings.sandbox_mode: validated, not sent
            return Response(b"", status_code=200)
        return Response(b"", status_code=202, headers={"X-Message-Id": message_id})

    async def create_batch(call: SgCall) -> Response:
        return sg_json({"batch_id": await mail.new_batch(call.account_sid)}, 201)

    async def get_batch(call: SgCall) -> Response:
        row = await mail.get_batch(call.account_sid, call.params["batch_id"])
        return sg_json({"batch_id": row["batch_id"]})

    async def schedule(call: SgCall) -> Response:
        body = call.obj()
        return sg_json(await mail.set_batch_status(call.account_sid, body.get("batch_id"), body.get("status"),
                                                   create=True), 201)

    async def list_scheduled(call: SgCall) -> Response:
        return sg_json(await mail.scheduled(call.account_sid))

    async def get_scheduled(call: SgCall) -> Response:
        row = await mail.get_batch(call.account_sid, call.params["batch_id"])
        return sg_json([{"batch_id": row["batch_id"], "status": row["status"]}] if row["status"] else [])

    async def update_scheduled(call: SgCall) -> Response:
        await mail.set_batch_status(call.account_sid, call.params["batch_id"], call.obj().get("status"),
                                    create=False)
        return empty_response()

    async def delete_scheduled(call: SgCall) -> Response:
        await mail.clear_batch_status(call.account_sid, call.params["batch_id"])
        return empty_response()

    async def create_key(call: SgCall) -> Response:
        body = call.obj()
        row, key = await keys.create(call.principal.account, body.get("name"), body.get("scopes"))
        return sg_json({"api_key": key, **key_json(row)}, 201)

    async def list_keys(call: SgCall) -> Response:
        limit = call.int_query("limit", 100, 1, 500)
        return sg_json({"result": [key_json(r, with_scopes=False) for r in await keys.list(call.principal.account,
                                                                                         limit)]})

    async def get_key(call: SgCall) -> Response:
        return sg_json({"result": [key_json(await keys.get(call.principal.account, call.params["key_id"]))]})

    async def patch_key(call: SgCall) -> Response:
        row = await keys.update(call.principal.account, call.params["key_id"], call.obj().get("name"), None,
                                replace=False)
        return sg_json(key_json(row, with_scopes=False))

    async def put_key(call: SgCall) -> Response:
        body = call.obj()
        row = await keys.update(call.principal.account, call.params["key_id"], body.get("name"),
                                body.get("scopes"), replace=True)
        return sg_json(key_json(row))

    async def delete_key(call: SgCall) -> Response:
        await keys.delete(call.principal.account, call.params["key_id"])
        return empty_response()

    sched = "/v3/user/scheduled_sends"
    return [
        SgOperation("POST", "/v3/mail/send", send, "mail.send"),
        SgOperation("POST", "/v3/mail/batch", create_batch, "mail.batch.create"),
        SgOperation("GET", "/v3/mail/batch/{batch_id}", get_batch, "mail.batch.read"),
        SgOperation("POST", sched, schedule, "user.scheduled_sends.create"),
        SgOperation("GET", sched, list_scheduled, "user.scheduled_sends.read"),
        SgOperation("GET", sched + "/{batch_id}", get_scheduled, "user.scheduled_sends.read"),
        SgOperation("PATCH", sched + "/{batch_id}", update_scheduled, "user.scheduled_sends.update"),
        SgOperation("DELETE", sched + "/{batch_id}", delete_scheduled, "user.scheduled_sends.delete"),
        SgOperation("POST", "/v3/api_keys", create_key, "api_keys.create", basic_auth=True),
        SgOperation("GET", "/v3/api_keys", list_keys, "api_keys.read", basic_auth=True),
        SgOperation("GET", "/v3/api_keys/{key_id}", get_key, "api_keys.read", basic_auth=True),
        SgOperation("PATCH", "/v3/api_keys/{key_id}", patch_key, "api_keys.update", basic_auth=True),
        SgOperation("PUT", "/v3/api_keys/{key_id}", put_key, "api_keys.update", basic_auth=True),
        SgOperation("DELETE", "/v3/api_keys/{key_id}", delete_key, "api_keys.delete", basic_auth=True),
    ]
