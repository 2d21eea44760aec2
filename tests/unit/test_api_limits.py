import pytest

from openline.api.limits import ConcurrencyLimiter
from openline.core.errors import TwilioError


def test_limit_is_per_account_and_released() -> None:
    limiter = ConcurrencyLimiter(2)
    with limiter.slot("AC1"), limiter.slot("AC1"):
        with pytest.raises(TwilioError) as err, limiter.slot("AC1"):
            pass
        assert (err.value.code, err.value.status) == (20429, 429)
        with limiter.slot("AC2"):
            pass
    with limiter.slot("AC1"), limiter.slot("AC1"):
        pass


def test_total_limit_across_accounts() -> None:
    limiter = ConcurrencyLimiter(10, total=3)
    with limiter.slot("AC1"), limiter.slot("AC2"), limiter.slot("AC3"):
        with pytest.raises(TwilioError) as err, limiter.slot("AC4"):
            pass
        assert err.value.code == 20429
    with limiter.slot("AC4"):  # released: room again
        pass


async def test_an_exhausted_database_pool_answers_20429() -> None:
    import httpx
    from starlette.applications import Starlette

    from openline.api.framework import Call, Operation, build_routes
    from openline.storage.database import DatabaseBusy

    async def busy(_call: Call) -> None:  # type: ignore[return]
        raise DatabaseBusy("no database connection became free within the pool timeout")

    op = Operation("POST", "/busy", busy, "busy", "busy", authenticated=False)  # type: ignore[arg-type]
    app = Starlette(routes=build_routes([op], None, ConcurrencyLimiter(10)))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.post("/busy")
    assert response.status_code == 429 and response.json()["code"] == 20429
