"""Structured logs: one JSON object per line, chat and user ids hashed, secrets masked
(the redacting filter of digest.redaction and the formatters together), and the same masking
in text logs. Log lines come from the real code paths where it matters (429 waits, an
answer that was not delivered)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.chat.conversation import Conversation
from bot.core import observability
from bot.core.chat import Answer, Incoming
from bot.core.messages import OutMessage
from bot.core.observability import Hashed, configure_hashing, hashed, setup_logging
from bot.core.retries import RetryAfter, with_rate_retries
from bot.platforms.discord.interaction import mask_webhook_tokens
from digest.errors import DeliveryError
from digest.models import Reply, Subscription
from digest.redaction import HTTP_LOGGERS
from digest.settings import Settings
from digest.store.base import Store
from tests.platform_settings import make_settings

TOKEN = "123456:TopSecretBotTokenValue"
REDIS_PASSWORD = "hunter2-redis-password"
SALT = "pepper-for-tests"
CHAT = "-1001234567890"
USER = "987654321"
WEBHOOK_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The root logger as pytest has it: handlers other tests left behind (the CLI's
    stderr handler, from in-process CLI runs) are set aside, then everything restored."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    httpx_level = logging.getLogger("httpx").level
    for handler in handlers:
        if not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(httpx_level)
    configure_hashing(None)


def settings(log_format: str) -> Settings:
    return make_settings(
        log_format=log_format,  # type: ignore[arg-type]
        log_salt=SecretStr(SALT),
        telegram_token=SecretStr(TOKEN),
        redis_url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0",
    )


class RefusingSender:
    platform = "telegram"

    async def send(
        self, sub: Subscription, msg: OutMessage, thread_ref: str | None, *, day: object = None
    ) -> str:
        raise DeliveryError("telegram", sub.chat_id, "Forbidden: bot was blocked by the user")

    async def aclose(self) -> None:
        return None


async def no_sleep(seconds: float) -> None:
    return None


async def log_everything(store: Store) -> None:
    """Log lines with secrets and raw ids in them, through the real code where possible."""
    # A library's child logger (the filter on the handler sees it too).
    logging.getLogger("telegram.ext.Updater").warning(
        "POST https://api.telegram.org/bot%s/getUpdates failed", TOKEN
    )
    # Raw ids in structured fields, a secret in a field and in a traceback.
    try:
        raise ConnectionError(f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379 refused")
    except ConnectionError:
        logging.getLogger("paperdrop.test").exception(
            "store trouble",
            extra={"chat_id": f"telegram:{CHAT}", "user_id": USER, "detail": f"t={TOKEN}"},
        )
    # with_rate_retries: a 429 waited out, with the chat in the line.
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryAfter(0.5)
        return "ok"

    await with_rate_retries(attempt, platform="telegram", chat=CHAT, sleep=no_sleep, max_retries=2)
    # The conversation: an answer the platform refused.
    conv = Conversation(settings("json"), store)
    try:
        inc = Incoming(platform="telegram", chat_id=CHAT, user_id=USER, text="/help")
        await conv.deliver(inc, Answer(Reply.text("en", "hello")), RefusingSender())  # type: ignore[arg-type]
    finally:
        await conv.close(0)


async def test_json_logs_are_json_lines_without_secrets_or_raw_ids(
    store: Store, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(settings("json"), verbose=True)
    capsys.readouterr()
    await log_everything(store)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) >= 4
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
        assert record["time"].endswith("Z") and "T" in record["time"]
    for secret in (TOKEN, REDIS_PASSWORD, SALT, CHAT, USER):
        assert secret not in err, f"{secret!r} leaked into the logs"

    trouble = next(r for r in records if r["message"] == "store trouble")
    assert trouble["level"] == "ERROR" and trouble["logger"] == "paperdrop.test"
    assert trouble["chat_id"] == hashed(f"telegram:{CHAT}") and trouble["chat_id"].startswith(
        "telegram:"
    )
    assert trouble["user_id"] == hashed(USER)
    assert trouble["detail"] == "t=***"
    assert "ConnectionError" in trouble["exc"] and "***" in trouble["exc"]
    waited = next(r for r in records if "rate limited" in r["message"])
    assert waited["chat"] == hashed(CHAT) and waited["platform"] == "telegram"
    assert waited["retry_after"] == 0.5
    refused = next(r for r in records if r["message"].startswith("answer not delivered"))
    assert refused["chat"] == hashed(f"telegram:{CHAT}") and refused["level"] == "WARNING"


async def test_text_logs_mask_the_same_secrets(
    store: Store, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(settings("text"), verbose=True)
    capsys.readouterr()
    await log_everything(store)
    err = capsys.readouterr().err
    assert "WARNING telegram.ext.Updater: POST https://api.telegram.org/bot***/" in err
    assert "ERROR paperdrop.test: store trouble" in err
    assert "Traceback" in err  # tracebacks are kept, masked
    for secret in (TOKEN, REDIS_PASSWORD, CHAT):
        assert secret not in err


def test_setup_logging_keeps_one_handler_and_switches_format(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    before = len(root.handlers)  # pytest's own
    setup_logging(settings("text"), verbose=False)
    setup_logging(settings("json"), verbose=False)
    assert len(root.handlers) == before + 1
    assert root.level == logging.WARNING
    capsys.readouterr()
    logging.getLogger("paperdrop.x").warning("hello %s", "there")
    assert json.loads(capsys.readouterr().err)["message"] == "hello there"
    setup_logging(settings("text"), verbose=True)
    assert root.level == logging.INFO
    logging.getLogger("paperdrop.x").warning("plain")
    assert capsys.readouterr().err == "WARNING paperdrop.x: plain\n"


def test_hashed_ids_are_stable_salted_and_short(restore_logging: None) -> None:
    configure_hashing(None)
    default = hashed("telegram:4242424242")
    assert default == hashed("telegram:4242424242")  # stable: one chat's lines can be followed
    assert default.startswith("telegram:") and "4242" not in default
    assert len(default) == len("telegram:") + observability.HASH_CHARS
    assert hashed("slack:C0123") != hashed("slack:C0124")
    assert ":" not in hashed("987654321")  # a bare user id: no platform prefix to keep
    configure_hashing(SALT)
    salted = hashed("telegram:4242424242")
    assert salted != default  # the salt changes every hash
    assert isinstance(salted, Hashed) and hashed(salted) == salted  # never hashed twice


def test_redis_password_given_as_a_query_parameter_is_masked(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Redis URL's password may be `?password=`: masked like one in the userinfo.
    password = "query-given-redis-password"
    configured = make_settings(redis_url=f"redis://127.0.0.1:6379/0?password={password}")
    setup_logging(configured, verbose=True)
    capsys.readouterr()
    logging.getLogger("paperdrop.test").warning("AUTH %s refused", password)
    assert capsys.readouterr().err == "WARNING paperdrop.test: AUTH *** refused\n"


def test_interaction_tokens_are_masked_in_the_http_libraries_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mask_webhook_tokens(HTTP_LOGGERS)
    with caplog.at_level(logging.INFO, logger="httpx"):  # other tests may leave it at WARNING
        logging.getLogger("httpx").info(
            "HTTP Request: PATCH %s/webhooks/42/%s/messages/@original",
            "https://discord.com/api/v10",
            WEBHOOK_TOKEN,
        )
    assert WEBHOOK_TOKEN not in caplog.text
    assert "/webhooks/42/***/messages/@original" in caplog.text


async def test_interaction_tokens_are_masked_on_every_logger_and_in_tracebacks(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Once logging is set up, an interaction's token is masked wherever it shows, not only
    # in the HTTP libraries' lines: our own loggers' messages, fields and tracebacks.
    mask_webhook_tokens(HTTP_LOGGERS)
    setup_logging(settings("json"), verbose=True)
    capsys.readouterr()
    hook = f"https://discord.com/api/v10/webhooks/42/{WEBHOOK_TOKEN}"
    try:
        raise ConnectionError(f"POST {hook} failed")
    except ConnectionError:
        logging.getLogger("paperdrop.test").exception("webhook %s", hook, extra={"url": hook})
    err = capsys.readouterr().err
    assert WEBHOOK_TOKEN not in err
    record = json.loads(err)
    assert record["message"] == "webhook https://discord.com/api/v10/webhooks/42/***"
    assert record["url"].endswith("/webhooks/42/***") and "/webhooks/42/***" in record["exc"]
