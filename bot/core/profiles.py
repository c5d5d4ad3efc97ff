"""The reader profile of a subscription or of a chat (its file, its interests, its saved
preferences, else the example), with the chat's seeds, followed authors and evidence."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from bot.core.observability import hashed
from digest.chatstate import (
    get_prefs,
)
from digest.errors import (
    ProfileError,
)
from digest.models import Language, Subscription
from digest.profile import Profile, example_profile, load_profile
from digest.reader import reader_profile
from digest.settings import Settings
from digest.store.base import Store

log = logging.getLogger(__name__)

# A profile's name is at most this long (digest.profile.Profile.name).
PROFILE_NAME_MAX = 80


def profile_for(sub: Subscription, settings: Settings) -> Profile:
    """The reader profile of a subscription: its file, else its inline interests, in the
    subscription's time zone (the brief says when it was made in the reader's time).

    Raises ProfileError when the file cannot be used.
    """
    profile = _profile_of(sub, settings)
    if sub.tz != "UTC":  # a subscription left at UTC keeps the profile file's own zone
        profile = profile.model_copy(update={"timezone": sub.tz})
    return profile


def _profile_of(sub: Subscription, settings: Settings) -> Profile:
    if sub.profile_path:
        return load_profile(sub.profile_path, sub.language)
    if sub.interests:
        # The name titles the brief: the interests say more to the chat than its id does.
        name = ", ".join(sub.interests[:2])[:PROFILE_NAME_MAX] or sub.key[:PROFILE_NAME_MAX]
        data = {"name": name, "language": sub.language}
        try:
            return Profile.model_validate({**data, "interests": sub.interests})
        except ValidationError as exc:
            first = exc.errors()[0]
            reason = str(first["msg"]).removeprefix("Value error, ")
            raise ProfileError(f"interests of {sub.key}: {reason}") from None
    if settings.profile_path is not None:
        return load_profile(settings.profile_path, sub.language)
    return example_profile(sub.language)


async def chat_profile(
    settings: Settings,
    store: Store,
    chat_key: str,
    sub: Subscription | None,
    language: Language,
) -> Profile:
    """The reader profile of a chat: its subscription's, else its saved interests, else the
    configured or example profile; with the chat's seeds, followed authors and evidence."""
    profile: Profile | None = None
    try:
        if sub is not None:
            profile = profile_for(sub, settings)
        else:
            prefs = await get_prefs(store, chat_key)
            if prefs.interests:
                profile = Profile(
                    name=", ".join(prefs.interests[:2])[:80], interests=prefs.interests
                )
            elif settings.profile_path is not None:
                profile = load_profile(settings.profile_path)
    except ProfileError as exc:
        log.warning("profile of %s unusable (%s): using the example profile", hashed(chat_key), exc)
    profile = profile or example_profile()
    profile = await reader_profile(store, chat_key, profile)
    return profile.model_copy(update={"language": language})
