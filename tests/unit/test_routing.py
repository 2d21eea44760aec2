import random
from collections import Counter

from openline.config import RouteSettings
from openline.services.routing import Router


class FakeCarrier:
    def __init__(self, name: str) -> None:
        self.name = name


def names(router: Router, to: str, sender: str | None = None) -> list[str]:
    return [c.name for c in router.candidates(to, sender)]


CARRIERS = {n: FakeCarrier(n) for n in ("a", "b", "c", "sandbox")}


def test_most_specific_prefix_then_priority() -> None:
    router = Router([RouteSettings(match="+", carriers=["a"]), RouteSettings(match="+44", carriers=["b", "a"]),
                     RouteSettings(match="+447", carriers=["c"], priority=-1)], CARRIERS, True)  # type: ignore[arg-type]
    assert names(router, "+15551234567") == ["a"]
    assert names(router, "+442071234567") == ["b", "a"]
    assert names(router, "+447700900123") == ["b", "a"]  # priority beats a longer prefix


def test_country_and_sender_rules() -> None:
    router = Router([RouteSettings(match="country:GB", carriers=["b"]),
                     RouteSettings(match="+", sender="Acme", carriers=["c"], priority=5)], CARRIERS, False)  # type: ignore[arg-type]
    assert names(router, "+447700900123", "Acme") == ["c"]
    assert names(router, "+447700900123", "+15551234567") == ["b"]
    assert names(router, "+15551234567") == []  # no rule, sandbox disabled: no route


def test_sandbox_fallback_and_weights() -> None:
    router = Router([RouteSettings(match="+44", carriers=["a", "b"], weights=[3, 1])], CARRIERS, True,  # type: ignore[arg-type]
                    random.Random(1))
    assert names(router, "+15551234567") == ["sandbox"]
    firsts = Counter(names(router, "+447700900123")[0] for _ in range(4000))
    assert 2700 < firsts["a"] < 3300 and firsts["a"] + firsts["b"] == 4000
    assert sorted(names(router, "+447700900123")) == ["a", "b"]  # the other stays as failover
