from openline.core.entities import NumberType
from openline.services.throughput import Throughput


def test_off_by_default() -> None:
    pacing = Throughput("off", {})
    assert all(pacing.reserve("+15555550100", NumberType.LOCAL, 0.0) == 0 for _ in range(100))


def test_twilio_defaults() -> None:
    pacing = Throughput("twilio", {})
    assert pacing.reserve("+15555550100", NumberType.LOCAL, 0.0) == 0
    assert pacing.reserve("+15555550100", NumberType.LOCAL, 0.0) == 1.0  # 1 MPS for a long code
    assert pacing.reserve("+15555550100", NumberType.LOCAL, 1.0) == 0
    assert pacing.reserve("+18005550100", NumberType.TOLL_FREE, 0.0) == 0
    assert abs(pacing.reserve("+18005550100", NumberType.TOLL_FREE, 0.0) - 1 / 3) < 1e-9
    assert pacing.rate_for("12345", None) == 100.0  # short code


def test_override() -> None:
    pacing = Throughput("off", {"+15555550100": 10.0})
    assert pacing.reserve("+15555550100", NumberType.LOCAL, 0.0) == 0
    assert abs(pacing.reserve("+15555550100", NumberType.LOCAL, 0.0) - 0.1) < 1e-9
    assert pacing.reserve("+15555550199", NumberType.LOCAL, 0.0) == 0
