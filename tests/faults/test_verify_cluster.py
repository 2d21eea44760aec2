"""Verify's limits hold across processes: guesses and sends spread over two API processes on one
PostgreSQL database count together, so adding processes never adds attempts."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.test_sms_basic import wait_for
from tests.support.cluster import Cluster
from tests.support.reliability import record

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
HANDSET = "+15558675490"


def test_guesses_and_sends_count_cluster_wide(tmp_path: Path, postgres_admin_url: str) -> None:
    cluster = Cluster(tmp_path, postgres_admin_url, "").create()
    try:
        cluster.start(apis=2, workers=1)
        auth = (cluster.account_sid, cluster.auth_token)
        first, second = (api.url for api in cluster.apis)
        service = httpx.post(f"{first}/verify/v2/Services", auth=auth, data={"FriendlyName": "Shop"}).json()["sid"]

        def start(base: str, to: str = HANDSET) -> httpx.Response:
            return httpx.post(f"{base}/verify/v2/Services/{service}/Verifications", auth=auth,
                              data={"To": to, "Channel": "sms"}, timeout=30)

        assert start(first).status_code == 201
        messages = wait_for(lambda: httpx.get(f"{second}/sandbox/v1/Handsets/{HANDSET}/Messages",
                                              auth=auth).json()["messages"], timeout=60)
        code = re.findall(r"\b(\d{4,10})\b", messages[0]["body"])[-1]  # type: ignore[index]
        wrong = str((int(code) + 1) % 10**len(code)).zfill(len(code))

        def guess(i: int) -> tuple[int, int | None]:
            base = (first, second)[i % 2]
            answer = httpx.post(f"{base}/verify/v2/Services/{service}/VerificationCheck", auth=auth,
                                data={"To": HANDSET, "Code": wrong}, timeout=30)
            return answer.status_code, answer.json().get("code")

        with ThreadPoolExecutor(8) as pool:  # eight wrong guesses at once, over both processes
            outcomes = list(pool.map(guess, range(8)))
        evaluated = [o for o in outcomes if o[0] == 200]
        # Past the fifth, a guess is refused with 60202, also when it races the check that closes
        # the verification. Either way it is never evaluated.
        refused = [o for o in outcomes if o == (429, 60202)]
        assert len(evaluated) == 5 and len(refused) == 3, outcomes
        # The right code is no use now, from either process.
        for base in (first, second):
            late = httpx.post(f"{base}/verify/v2/Services/{service}/VerificationCheck", auth=auth,
                              data={"To": HANDSET, "Code": code})
            assert (late.status_code, late.json()["code"]) == (429, 60202)
        # Sends: five per destination in ten minutes, however many processes take them.
        sends = [start((first, second)[i % 2], "+15558675491") for i in range(6)]
        codes = [(s.status_code, s.json().get("code")) for s in sends]
        assert [c[0] for c in codes[:5]] == [201] * 5 and codes[5] == (429, 60203), codes
        record("Verify limits over 2 API processes on PostgreSQL", "8 concurrent wrong guesses, then 6 sends",
               f"{len(evaluated)} guesses evaluated, {len(refused)} refused (60202); sends past 5 refused (60203)",
               "n/a")
    finally:
        cluster.stop()
