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
