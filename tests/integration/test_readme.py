"""The README's copy-paste snippets work as written (credentials and URL filled in)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.server import OpenlineServer

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_http_client_snippet(server: OpenlineServer) -> None:
    code = _python_blocks()[0]
    code = code.replace("ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", server.account_sid)  # type: ignore[attr-defined]
    code = code.replace("your_auth_token", server.auth_token)  # type: ignore[attr-defined]
    code = code.replace("http://127.0.0.1:8080", server.url)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Openline account"


def test_base_url_snippet(server: OpenlineServer) -> None:
    code = "from twilio.rest import Client\n" + _python_blocks()[1].replace("http://127.0.0.1:8080", server.url)
    code += "print(client.api.v2010.accounts(account_sid).fetch().sid)\n"
    prelude = f"account_sid, auth_token = {server.account_sid!r}, {server.auth_token!r}\n"  # type: ignore[attr-defined]
    result = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == server.account_sid  # type: ignore[attr-defined]
