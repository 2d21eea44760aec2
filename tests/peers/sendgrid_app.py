"""An unchanged SendGrid app: the official `sendgrid` SDK with its default host (api.sendgrid.com).

Usage: sendgrid_app.py FROM TO SUBJECT TEXT, with SENDGRID_API_KEY set; prints the status code
and the X-Message-Id header as JSON.
"""

from __future__ import annotations

import json
import os
import sys

from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Mail


def main() -> None:
    sender, to, subject, text = sys.argv[1:5]
    client = SendGridAPIClient(os.environ["SENDGRID_API_KEY"])
    response = client.send(Mail(from_email=sender, to_emails=to, subject=subject, plain_text_content=text))
    print(json.dumps({"status": response.status_code, "message_id": response.headers.get("X-Message-Id")}))


if __name__ == "__main__":
    main()
