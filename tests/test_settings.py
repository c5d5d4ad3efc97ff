import pytest

from digest.settings import Settings


def test_defaults_point_at_the_real_services(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PAPERDROP_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    s = Settings(_env_file=None)
    assert s.hf_base_url == "https://huggingface.co"
    assert s.arxiv_api_url == "https://export.arxiv.org/api/query"
    assert s.github_api_url == "https://api.github.com"
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert s.feishu_base_url == "https://open.feishu.cn"
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
