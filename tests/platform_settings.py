"""Settings for tests, platform values included, by the names their variables have:
`telegram_token=` is PAPERDROP_TELEGRAM_TOKEN, i.e. `TelegramSettings.token`.

    settings = make_settings(telegram_token=SecretStr(tg.token), telegram_api_url=tg.base_url)
    broken = updated(settings, telegram_token=SecretStr("999:Refused"))

Neither reads `.env` (a developer's credentials never reach a test)."""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings

from bot.platforms import PLATFORMS
from digest.settings import Settings

__all__ = ["make_settings", "updated"]


def _split(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The core's values, and each platform's by its name (its prefix removed)."""
    core: dict[str, Any] = {}
    platforms: dict[str, dict[str, Any]] = {name: {} for name in PLATFORMS}
    for key, value in values.items():
        name = next((n for n in PLATFORMS if key.startswith(f"{n}_")), None)
        if name is None:
            core[key] = value
        else:
            platforms[name][key.removeprefix(f"{name}_")] = value
    return core, platforms


def _platform(name: str, values: dict[str, Any], base: BaseSettings | None = None) -> BaseSettings:
    cls = PLATFORMS[name].settings_class
    unknown = set(values) - set(cls.model_fields)
    assert not unknown, f"{cls.__name__} has no {sorted(unknown)}"
    if base is not None:
        return base.model_copy(update=values)
    return cls(_env_file=None, **values)  # type: ignore[call-arg]


def make_settings(**values: Any) -> Settings:
    core, platforms = _split(values)
    settings = Settings(_env_file=None, **core)  # type: ignore[call-arg]
    for name, own in platforms.items():
        settings.platforms[name] = _platform(name, own)
    return settings


def updated(settings: Settings, **values: Any) -> Settings:
    """A copy of `settings` with these values changed (core and platform ones)."""
    core, platforms = _split(values)
    given = dict(settings.platforms)
    for name, own in platforms.items():
        if own:
            given[name] = _platform(name, own, given.get(name))
    return settings.model_copy(update={**core, "platforms": given})
