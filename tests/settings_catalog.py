"""Every settings class paperdrop reads, and each field's environment variable: the core's
(`digest.settings.Settings`) and each platform's own (`PlatformAdapter.settings_class`,
in the registry's order). `.env.example` and README.md's tables are checked against it."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from bot.platforms import PLATFORMS
from digest.settings import Settings

__all__ = ["fields", "settings_classes", "variable"]


def settings_classes() -> list[tuple[str, type[BaseSettings]]]:
    """(what it configures, the class): the core first, then each platform."""
    return [("paperdrop", Settings), *((a.title, a.settings_class) for a in PLATFORMS.values())]


def variable(cls: type[BaseSettings], name: str, info: FieldInfo) -> str:
    """The environment variable a field is read from (its first alias, else prefix+name)."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    if isinstance(alias, str):
        return alias
    prefix = str(cls.model_config.get("env_prefix", ""))
    return f"{prefix}{name}".upper()


def fields() -> Iterator[tuple[str, type[BaseSettings], str, FieldInfo]]:
    """(section, class, variable, field) for every setting; the core's `platforms` (the
    platforms' own settings, not a variable) is left out."""
    for section, cls in settings_classes():
        for name, info in cls.model_fields.items():
            if cls is Settings and name == "platforms":
                continue
            yield section, cls, variable(cls, name, info), info
