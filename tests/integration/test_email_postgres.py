"""The email pipeline on the PostgreSQL scale-out store."""

from __future__ import annotations

import json

import pytest
from sendgrid.helpers.mail import Mail

from tests.conftest import postgres_server
from tests.support.sendgrid import create_key, mailbox, sdk

pytestmark = pytest.mark.postgres


def test_mail_templates_and_suppressions_on_postgres(tmp_path_factory: pytest.TempPathFactory,
                                                     postgres_admin_url: str) -> None:
    with postgres_server(tmp_path_factory, postgres_admin_url) as server:
        sg = sdk(server, create_key(server))
        assert sg.send(Mail(from_email="a@example.com", to_emails="pg@example.org", subject="on pg",
                            plain_text_content="x")).status_code == 202
        assert mailbox(server, "pg@example.org")[0]["subject"] == "on pg"
        template = json.loads(sg.client.templates.post(request_body={"name": "t", "generation": "dynamic"}).body)
        sg.client.templates._(template["id"]).versions.post(request_body={
            "name": "v", "subject": "{{#each xs}}{{this}}{{/each}}", "html_content": "<p>{{name}}</p>"})
        mail = Mail(from_email="a@example.com", to_emails="pg-t@example.org")
        mail.template_id = template["id"]
        mail.dynamic_template_data = {"xs": ["a", "b"], "name": "N"}
        assert sg.send(mail).status_code == 202
        assert mailbox(server, "pg-t@example.org")[0]["subject"] == "ab"
        sg.client.asm.suppressions._("global").post(request_body={"recipient_emails": ["pg-gone@example.org"]})
        sg.send(Mail(from_email="a@example.com", to_emails="pg-gone@example.org", subject="x", plain_text_content="x"))
        sg.send(Mail(from_email="a@example.com", to_emails="pg-after@example.org", subject="x", plain_text_content="x"))
        assert mailbox(server, "pg-after@example.org")
        assert mailbox(server, "pg-gone@example.org", timeout=0.5) == []
