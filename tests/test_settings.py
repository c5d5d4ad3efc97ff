import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.platforms import PLATFORMS, load_settings
from bot.platforms.feishu.settings import feishu_settings
from bot.platforms.slack.settings import slack_settings
from bot.platforms.telegram.settings import TelegramSettings, telegram_settings
from digest.settings import Settings
from tests.platform_settings import make_settings
from tests.settings_catalog import fields


def test_defaults_point_at_the_real_services(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PAPERDROP_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    s = Settings(_env_file=None)
    assert s.hf_base_url == "https://huggingface.co"
    assert s.arxiv_api_url == "https://export.arxiv.org/api/query"
    assert s.github_api_url == "https://api.github.com"
    assert not s.llm_enabled and s.redis_url is None


def test_openai_standard_variables_and_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-standard")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    s = Settings(_env_file=None)
    assert s.llm_enabled and s.llm_base_url == "http://127.0.0.1:1/v1"
    monkeypatch.setenv("PAPERDROP_LLM_API_KEY", "sk-own")
    s = Settings(_env_file=None)
    assert s.llm_api_key is not None and s.llm_api_key.get_secret_value() == "sk-own"
    # Secrets stay masked in reprs (and so in logs).
    assert "sk-own" not in repr(s) and "sk-own" not in str(s.model_dump())


def test_env_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / ".env"
    env.write_text("PAPERDROP_HF_BASE_URL=http://127.0.0.1:9/\nPAPERDROP_LOOKBACK_DAYS=3\n")
    s = Settings(_env_file=env)
    assert s.hf_base_url == "http://127.0.0.1:9/" and s.lookback_days == 3


def _configuration_section() -> str:
    """README.md's "Configuration" section (up to the next section of its level)."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    start = text.index("\n## Configuration")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_readme_documents_every_setting_of_every_settings_class() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", _configuration_section()))
    missing = [
        f"{variable} ({section})"
        for section, _, variable, _ in fields()
        if variable not in documented
    ]
    assert missing == [], "README.md's Configuration does not document these"


def test_platform_settings_keep_their_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERDROP_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("PAPERDROP_SLACK_SIGNING_SECRET", "signing")
    monkeypatch.setenv("PAPERDROP_FEISHU_EVENT_MODE", "http")
    settings = load_settings(_env_file=None)
    tg = settings.platforms["telegram"]
    assert isinstance(tg, TelegramSettings) and tg.token is not None
    assert tg.token.get_secret_value() == "123:abc"
    assert telegram_settings(settings) is tg  # read once, kept in the settings
    assert slack_settings(settings).signing_secret is not None
    assert feishu_settings(settings).event_mode == "http"
    assert "123:abc" not in repr(settings) and "123:abc" not in repr(tg)
    # The core knows no platform: its own fields name none.
    assert not [f for f in Settings.model_fields if f.startswith(tuple(PLATFORMS))]


def test_platform_settings_are_read_from_the_environment_unless_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAPERDROP_SLACK_BOT_TOKEN", "xoxb-env")
    bare = Settings(_env_file=None)  # type: ignore[call-arg]
    token = slack_settings(bare).bot_token
    assert token is not None and token.get_secret_value() == "xoxb-env"
    given = make_settings(slack_bot_token=SecretStr("xoxb-given"))
    token = slack_settings(given).bot_token
    assert token is not None and token.get_secret_value() == "xoxb-given"
    assert PLATFORMS["slack"].configured(given)
    assert not PLATFORMS["telegram"].configured(make_settings())
