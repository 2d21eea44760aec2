"""Rows for docs/reliability.md: each fault or attack test records what it tried and what happened.

Written only when OPENLINE_RELIABILITY_LOG names a file (scripts/reliability_report.py sets it),
so the table always comes from an actual run.
"""

from __future__ import annotations

import json
import os


def record(fault: str, tried: str, happened: str, lost: str) -> None:
    path = os.environ.get("OPENLINE_RELIABILITY_LOG")
    if not path:
        return
    with open(path, "a") as log:
        log.write(json.dumps({"fault": fault, "tried": tried, "happened": happened, "lost": lost}) + "\n")
