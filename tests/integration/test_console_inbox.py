"""The console's sandbox inbox: mail listed per account, HTML shown in a sandboxed frame that loads nothing remote."""

from __future__ import annotations

import re

import httpx

from tests.integration.test_console import ConsoleClient
from tests.support.sendgrid import create_key, mailbox, sdk
from tests.support.server import OpenlineServer


def test_inbox_lists_mail_and_frames_html_safely(server: OpenlineServer) -> None:
    sg = sdk(server, create_key(server))
    sg.client.mail.send.post(request_body={
        "personalizations": [{"to": [{"email": "inbox-reader@example.org"}]}], "from": {"email": "a@example.com"},
        "subject": "Console <inbox>", "content": [
            {"type": "text/plain", "value": "plain words"},
            {"type": "text/html", "value": '<p>rich</p><img src="https://tracker.example/p.gif"><script>alert(1)</script>'}]})
    [item] = mailbox(server, "inbox-reader@example.org")
    c = ConsoleClient(server.url)
    assert c.sign_in(server.account_sid, server.auth_token).status_code == 303  # type: ignore[attr-defined]
    listing = c.get("/inbox")
    assert listing.status_code == 200 and "Console &lt;inbox&gt;" in listing.text and "inbox-reader@example.org" in listing.text
    page = c.get(f"/inbox/{item['id']}")
    assert page.status_code == 200 and "plain words" in page.text
    frame = re.search(r'<iframe[^>]*>', page.text).group(0)  # type: ignore[union-attr]
    assert 'sandbox=""' in frame and f"/console/inbox/{item['id']}/html" in frame
    assert "tracker.example" not in page.text  # the HTML only ever appears inside the frame
    html = c.get(f"/inbox/{item['id']}/html")
    csp = html.headers["content-security-policy"]
    assert html.status_code == 200 and "<p>rich</p>" in html.text
    assert "default-src 'none'" in csp and "img-src data:" in csp and "sandbox" in csp
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    c.http.close()
    # Another account's console sees none of it.
    other = httpx.post(f"{server.url}/2010-04-01/Accounts.json", data={"FriendlyName": "B"},
                       auth=(server.account_sid, server.auth_token)).json()  # type: ignore[attr-defined]
    b = ConsoleClient(server.url)
    assert b.sign_in(other["sid"], other["auth_token"]).status_code == 303
    assert "inbox-reader@example.org" not in b.get("/inbox").text
    assert b.get(f"/inbox/{item['id']}").status_code == 404
    assert b.get(f"/inbox/{item['id']}/html").status_code == 404
    b.http.close()
