"""The `[sip]` settings: the issue's example loads as written; mistakes name their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from openline.app import inventory
from openline.config import ConfigError, RouteSettings, SmppCarrierSettings, load_settings
from openline.services.routing import Router
from openline.services.voice_routing import VoiceRoutes

EXAMPLE = """
[sip]
listen = "127.0.0.1:5060"          # UDP and TCP
rtp_ports = "20000-20999"

[[sip.trunks]]
name = "carrier-a"
proxy = "127.0.0.1:5070"           # where outbound INVITEs go
inbound_from = ["127.0.0.1"]       # sources allowed to send us calls
numbers = ["+14155550200"]         # inventory reached through this trunk

[[sip.users]]
username = "alice"
password = "secret"
number = "+14155550300"            # calls to this number ring the registered device
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "openline.toml"
    path.write_text(text)
    return load_settings(path)


def test_the_issue_example_loads(tmp_path: Path) -> None:
    settings = load(tmp_path, EXAMPLE + """
[[sip.trunks]]
name = "carrier-b"
proxy = "sip.example.net"
transport = "tcp"
inbound_from = ["192.0.2.0/24"]
username = "acct"
password = "pw"
register = true
expires = 600
domain = "example.net"
""")
    sip = settings.sip  # type: ignore[attr-defined]
    assert sip.listen_address == ("127.0.0.1", 5060) and sip.rtp_range == (20000, 20999)
    a, b = sip.trunks
    assert a.proxy_address == ("127.0.0.1", 5070) and a.allows("127.0.0.1") and not a.allows("127.0.0.2")
    assert b.proxy_address == ("sip.example.net", 5060) and b.registers and b.allows("192.0.2.77")
    assert sip.users[0].password.get_secret_value() == "secret"
    # a SIP user's number is inventory too (origin "sip-user")
    assert inventory(settings) == {"+14155550200": "carrier-a", "+14155550300": "sip-user"}  # type: ignore[arg-type]
    assert sip.contact_host == "127.0.0.1"


@pytest.mark.parametrize(("snippet", "key"), [
    ('[sip]\nlisten = "127.0.0.1:99999"', "sip.listen"),
    ('[sip]\nrtp_ports = "30000-20000"', "sip.rtp_ports"),
    ('[sip]\nadvertised_address = "not-an-ip"', "sip.advertised_address"),
    ('[[sip.trunks]]\nname = "t"\nproxy = "h"\ninbound_from = ["300.1.1.1"]', "sip.trunks.1.inbound_from"),
    ('[[sip.trunks]]\nname = "t"\nproxy = "h"\nnumbers = ["4155550100"]', "sip.trunks.1.numbers"),
    ('[[sip.trunks]]\nname = "t"\nproxy = "h"\nregister = true', "sip.trunks.1 "),
    ('[[sip.trunks]]\nname = "t"\nproxy = "h"\nusername = "u"', "sip.trunks.1 "),
    ('[[sip.users]]\nusername = "bob"\npassword = "x"\nnumber = "+1"', "sip.users.1.number"),
    ('[[sip.users]]\nusername = "bo b"\npassword = "x"\nnumber = "+14155550301"', "sip.users.1.username"),
    ('[[sip.users]]\nusername = "bob"\npassword = "x"\nnumber = "+14155550200"', "sip (OPENLINE_SIP): Value error, sip user bob"),
    ('[sip]\ndigest_algorithms = ["SHA-1"]', "sip.digest_algorithms.0"),
])
def test_mistakes_name_the_key(tmp_path: Path, snippet: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, _merge(snippet))
    assert key in str(info.value)


def _merge(snippet: str) -> str:
    """The example with ``snippet`` added: keys under [sip] go into the example's [sip] table."""
    if snippet.startswith("[sip]\n"):
        return EXAMPLE.replace('rtp_ports = "20000-20999"\n', "", 1 if "rtp_ports" in snippet else 0).replace(
            "[sip]\n", snippet + "\n", 1).replace('listen = "127.0.0.1:5060"          # UDP and TCP\n', "",
                                                  1 if "listen" in snippet else 0)
    return EXAMPLE + "\n" + snippet


def test_routes_may_name_trunks_and_each_router_takes_its_own(tmp_path: Path) -> None:
    settings = load(tmp_path, EXAMPLE + '\n[[routes]]\nmatch = "+44"\ncarriers = ["carrier-a"]\n'
                    '\n[[routes]]\nmatch = "+1"\ncarriers = ["sandbox"]\n')
    routes = settings.routes  # type: ignore[attr-defined]
    voice = VoiceRoutes(routes, ["carrier-a"])
    assert voice.trunks_for("+442071838750", None) == ["carrier-a"]
    assert voice.trunks_for("+14155550100", None) == [] and voice.trunks_for("not a number", None) == []
    sms = Router(routes, {"sandbox": object()}, sandbox_enabled=False)  # type: ignore[dict-item]
    assert sms.candidates("+442071838750", None) == []  # the trunk-only route carries no messages
    with pytest.raises(ConfigError, match="routes"):
        load(tmp_path, EXAMPLE + '\n[[routes]]\nmatch = "+44"\ncarriers = ["nowhere"]\n')


def test_voice_routes_priority_and_caller_prefix() -> None:
    routes = [RouteSettings(match="+1", carriers=["a"]), RouteSettings(match="+1415", carriers=["b", "sms"]),
              RouteSettings(match="+1", sender="+44", carriers=["c"], priority=5),
              RouteSettings(match="country:GB", carriers=["a"])]
    voice = VoiceRoutes(routes, ["a", "b", "c"])
    assert voice.trunks_for("+14155550100", "+15550001") == ["b"]
    assert voice.trunks_for("+12125550100", None) == ["a"]
    assert voice.trunks_for("+14155550100", "+447700900000") == ["c"]
    assert voice.trunks_for("+442071838750", None) == ["a"]


def test_a_name_cannot_be_both_carrier_and_trunk(tmp_path: Path) -> None:
    carrier = SmppCarrierSettings(name="carrier-a", host="h", system_id="s")
    assert carrier.name == "carrier-a"
    with pytest.raises(ConfigError, match="both an SMPP carrier and a SIP trunk"):
        load(tmp_path, EXAMPLE + '\n[[carriers]]\nname = "carrier-a"\nhost = "h"\nsystem_id = "s"\n')
