"""Brute force against Verify at the service layer: over 10,000 wrong guesses across thousands of
verifications never approve one, every verification evaluates at most five guesses, and the
limits (check attempts, sends per destination) hold across a restart of the service."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from openline.config import VerifySettings
from openline.core.entities import Account, AccountStatus
from openline.core.errors import TwilioError
from openline.core.sids import SidPrefix, new_auth_token, new_sid
from openline.core.verify import MAX_CHECK_ATTEMPTS, MAX_SENDS, VerificationStatus
from openline.services.lookup import LookupService
from openline.services.messaging import SendRequest
from openline.services.queue import Wakeup
from openline.services.verify import CheckRequest, StartRequest, Verifier
from openline.storage import dialect as dialects
from openline.storage import migrate, schema
from openline.storage.database import Conn, Database
from openline.storage.dialect import SqliteOptions
from openline.storage.repositories import AccountRepository, IncomingPhoneNumberRepository
from openline.storage.repositories.verify import VerifyRepositories
from tests.support.reliability import record

DESTINATIONS = 200
ROUNDS = 10  # each round: every destination gets a fresh verification and six wrong guesses
RESTART_ROUND = 5
KEY = b"\x07" * 32


class FakeClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 3, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


@dataclass
class Sent:
    sid: str


class Handsets:
    """Stands in for the SMS pipeline: keeps what each destination received."""

    def __init__(self) -> None:
        self.inbox: dict[str, list[str]] = {}

    async def accept(self, conn: Conn, account: Account, request: SendRequest) -> Sent:
        assert request.to is not None and request.body is not None
        self.inbox.setdefault(request.to, []).append(request.body)
        return Sent(new_sid(SidPrefix.MESSAGE))

    def code(self, to: str) -> str:
        return self.inbox[to][-1].rsplit(" ", 1)[-1]


def open_verifier(url: str, clock: FakeClock, handsets: Handsets) -> tuple[Database, Verifier]:
    # Durability is not under test here: skip the fsyncs, keep every other behaviour.
    db = Database.open(url, SqliteOptions(synchronous="OFF"))
    return db, Verifier(db, clock, VerifySettings(), handsets, Wakeup(), LookupService(),  # type: ignore[arg-type]
                        KEY, VerifyRepositories(), IncomingPhoneNumberRepository())


def wrong_guess(rng: random.Random, code: str) -> str:
    while (guess := f"{rng.randrange(1_000_000):06d}") == code:
        pass
    return guess


async def expect(code: int, call: object) -> None:
    with pytest.raises(TwilioError) as info:
        await call  # type: ignore[misc]
    assert info.value.code == code, info.value


@pytest.mark.slow
async def test_ten_thousand_guesses_never_approve(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'verify.db'}"
    engine = dialects.create_sync(dialects.resolve(url), SqliteOptions())
    migrate.upgrade(engine)
    engine.dispose()
    clock, handsets, rng = FakeClock(), Handsets(), random.Random(20260301)
    db, verifier = open_verifier(url, clock, handsets)
    sid = new_sid(SidPrefix.ACCOUNT)
    account = Account(sid, sid, "target", AccountStatus.ACTIVE, new_auth_token(), clock.now(), clock.now())
    async with db.transaction() as conn:
        await AccountRepository().insert(conn, account)
    service = (await verifier.create_service(account, {"friendly_name": "Acme"})).sid
    destinations = [f"+1555700{i:04d}" for i in range(DESTINATIONS)]
    guesses = evaluated = 0

    for round_ in range(ROUNDS):
        half_done: list[str] = []
        for n, to in enumerate(destinations):
            view = await verifier.start(account, service, StartRequest(to=to, channel="sms"))
            assert view.status is VerificationStatus.PENDING
            code = handsets.code(to)
            first = 3 if round_ == RESTART_ROUND and n < DESTINATIONS // 2 else MAX_CHECK_ATTEMPTS
            for _ in range(first):
                result = await verifier.check(account, service, CheckRequest(wrong_guess(rng, code), to=to))
                assert result.status is VerificationStatus.PENDING and result.verification.sid == view.verification.sid
                guesses += 1
                evaluated += 1
            if first < MAX_CHECK_ATTEMPTS:
                half_done.append(to)
                continue
            await expect(60202, verifier.check(account, service, CheckRequest(wrong_guess(rng, code), to=to)))
            guesses += 1
            # Past the limit even the right code is refused, and no new code is sent.
            await expect(60202, verifier.check(account, service, CheckRequest(code, to=to)))
            await expect(60202, verifier.start(account, service, StartRequest(to=to, channel="sms")))

        if round_ == RESTART_ROUND:
            # A destination four sends into its window before the restart…
            spare = "+15557009999"
            for _ in range(MAX_SENDS - 1):
                await verifier.start(account, service, StartRequest(to=spare, channel="sms"))
            await db.close()  # restart: nothing about the limits lives in memory
            db, verifier = open_verifier(url, clock, handsets)
            # …has one send left after it.
            await verifier.start(account, service, StartRequest(to=spare, channel="sms"))
            await expect(60203, verifier.start(account, service, StartRequest(to=spare, channel="sms")))
            for to in half_done:  # three guesses spent before the restart: two remain
                code = handsets.code(to)
                for _ in range(MAX_CHECK_ATTEMPTS - 3):
                    result = await verifier.check(account, service, CheckRequest(wrong_guess(rng, code), to=to))
                    assert result.status is VerificationStatus.PENDING
                    guesses += 1
                    evaluated += 1
                await expect(60202, verifier.check(account, service, CheckRequest(code, to=to)))
        clock.moment += timedelta(minutes=10, seconds=1)  # every verification of the round expires

    assert guesses >= 10_000
    v = schema.verifications
    async with db.read() as conn:
        approved = (await conn.execute(select(func.count()).select_from(v).where(
            v.c.status == VerificationStatus.APPROVED.value))).scalar_one()
        most = (await conn.execute(select(func.max(v.c.check_attempts)))).scalar_one()
        total = (await conn.execute(select(func.sum(v.c.check_attempts)))).scalar_one()
        count = (await conn.execute(select(func.count()).select_from(v))).scalar_one()
    record("Verify brute force (wrong codes, across a restart)", f"{guesses:,} guesses on {count:,} verifications",
           f"{approved} approved; at most {most} guesses evaluated per verification", "n/a")
    assert approved == 0
    assert most == MAX_CHECK_ATTEMPTS and total == evaluated
    assert count == DESTINATIONS * ROUNDS + 1

    # The control: the right code, within the limit, does approve (so the test can tell).
    to = destinations[0]
    await verifier.start(account, service, StartRequest(to=to, channel="sms"))
    assert (await verifier.check(account, service, CheckRequest(handsets.code(to), to=to))).status is \
        VerificationStatus.APPROVED
    await db.close()
