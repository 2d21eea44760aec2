"""schemathesis against Openline's own /openapi.json: no 5xx, every answer as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import new_credentials
from tests.support.reliability import record
from tests.support.server import OpenlineServer

# Promoting a secondary token would swap the credentials the fuzzer itself uses mid-run.
EXCLUDED = r"/AuthTokens/"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


@pytest.mark.slow
def test_fuzzing_the_documented_api_finds_nothing(tmp_path: Path) -> None:
    sid, token = new_credentials()
    server = OpenlineServer(tmp_path / "data", env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    server.start()
    try:
        config = tmp_path / "schemathesis.toml"
        # Paths carry the caller's own account, so the fuzzer reaches real handlers, not only 401s.
        config.write_text(f'[parameters]\nAccountSid = "{sid}"\n')
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
             f"{server.url}/openapi.json", "--url", server.url, "--auth", f"{sid}:{token}", "--checks", CHECKS,
             "--exclude-path-regex", EXCLUDED, "--max-examples", "25", "--phases", "examples,coverage,fuzzing",
             "--workers", "2", "--seed", "1", "--no-color"],
            capture_output=True, text=True, timeout=1200, cwd=tmp_path)
        summary = result.stdout[result.stdout.find("SUMMARY"):]
        generated = re.search(r"(\d+) generated", summary)
        record("schemathesis fuzzing of /openapi.json (no 5xx, schema conformance)",
               f"{generated.group(1) if generated else '?'} generated requests",
               "no failure" if result.returncode == 0 else "failures (see the run)", "n/a")
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert "Tested: " in summary and "passed" in summary, summary
    finally:
        server.stop()
