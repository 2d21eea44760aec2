from __future__ import annotations

from pathlib import Path

import pytest

from openline.config import ConfigError, load_settings


def test_defaults_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENLINE_PORT", raising=False)
    config = tmp_path / "openline.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\n[database]\npool_size = 3\n')
    settings = load_settings(config)
    assert (settings.port, settings.host, settings.database.pool_size) == (9000, "0.0.0.0", 3)
    assert settings.base_url == "http://127.0.0.1:9000"
    monkeypatch.setenv("OPENLINE_PORT", "9100")
    assert load_settings(config).port == 9100  # environment beats the file
    assert load_settings(config, port=9200).port == 9200  # flags beat both
    assert load_settings(config, data_dir=tmp_path).resolved_database_url.endswith("openline.db")


def test_errors_name_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINE_DATABASE__POOL_SIZE", "0")
    with pytest.raises(ConfigError, match=r"database\.pool_size \(OPENLINE_DATABASE__POOL_SIZE\)"):
        load_settings()
    monkeypatch.delenv("OPENLINE_DATABASE__POOL_SIZE")
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("port = [")
    with pytest.raises(ConfigError):
        load_settings(broken)
    with pytest.raises(ConfigError, match="public_url"):
        load_settings(public_url="ftp://x")


@pytest.mark.parametrize(("toml", "key"), [
    ('[channels.whatsapp]\naccess_token = "t"\n', r"channels\.whatsapp"),
    ('[channels.whatsapp]\nnumbers = {"15551234567" = "1"}\n', r"channels\.whatsapp\.numbers"),
    ('[channels.whatsapp]\napi_base_url = "ftp://x"\n', r"channels\.whatsapp\.api_base_url"),
    ('[channels.telegram]\nbot_token = "nocolon"\n', r"channels\.telegram\.bot_token"),
    ('[channels.telegram]\nbot_token = "1:A"\n', r"channels\.telegram"),
    ('[channels.line]\nbot_user_id = "X1"\n', r"channels\.line\.bot_user_id"),
    ('[channels.messenger]\npage_access_token = "t"\n', r"channels\.messenger"),
    ('[channels.messenger]\naccount_sid = "ACnope"\n', r"channels\.messenger\.account_sid"),
])
def test_channel_settings_errors_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    config = tmp_path / "openline.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match=key):
        load_settings(config)


def test_channel_settings(tmp_path: Path) -> None:
    config = tmp_path / "openline.toml"
    config.write_text('[channels.whatsapp]\naccess_token = "t"\napp_secret = "s"\n'
                      'numbers = {"+15555550100" = "106540352242922"}\n'
                      '[channels.telegram]\nbot_token = "123:ABC"\nsecret_token = "x_1"\n')
    channels = load_settings(config).channels
    assert channels.whatsapp.numbers == {"+15555550100": "106540352242922"}
    assert channels.whatsapp.api_base_url == "https://graph.facebook.com"
    assert channels.telegram.bot_token is not None and channels.line.channel_access_token is None
