"""Telling paperdrop who you are, in a chat: seed papers, followed authors, what was
learned and forgetting it, watched papers. Against the local fakes of `test_conversation`."""

from __future__ import annotations

from digest.chatstate import get_votes
from digest.models import PaperItem
from digest.reader import get_reader
from digest.store.base import Store
from digest.watch import get_watches
from tests.bot.chat.test_conversation import PAPER, Person, World, sample_brief, shown, world

__all__ = ["world"]  # the fixture, used by name

OFF_TOPIC = "2605.04523"  # RaguTeam at SemEval-2026 Task 8, by Ivan Bondarenko et al.


async def test_seed_papers_are_added_checked_listed_and_removed(world: World) -> None:
    ada = Person(world.bot(llm=False))
    text = shown(await ada.says(f"/interests add paper https://arxiv.org/abs/{PAPER}v2"))
    assert f"Added {PAPER} (EMO" in text
    assert "already" in shown(await ada.says(f"/interests add paper {PAPER}"))
    assert "not an arXiv id" in shown(await ada.says("/interests add paper <b>nope</b>"))
    unknown = shown(await ada.says("/interests add paper 2605.99999"))
    assert "arXiv has no paper 2605.99999" in unknown
    listing = shown(await ada.says("/interests"))
    assert "Your papers" in listing and f"{PAPER} — EMO" in listing
    assert "4 more papers are liked" in listing  # one seed: the cold start, said plainly
    assert "Removed" in shown(await ada.says(f"/interests remove paper {PAPER}"))
    assert (await get_reader(world.store, "telegram:42")).papers == []


async def test_five_seed_papers_train_the_chats_model(world: World) -> None:
    ada = Person(world.bot(llm=False))
    seeds = ["2605.06614", "2605.06130", "2605.06642", "2605.06200", "2605.06716"]
    for pid in seeds:
        await ada.says(f"/interests add paper {pid}")
    listing = shown(await ada.says("/interests"))
    assert "Your model counts for" in listing and "5 seed papers" in listing
    assert "More of:" in listing
    brief = await sample_brief(world, "telegram:42")
    picks = [i for i in brief.sections[1].items if isinstance(i, PaperItem)]
    # The seeds are in the day: a pick like one of them says so.
    notes = [i.note.lower() for i in picks]
    assert any("like your paper" in n for n in notes), notes
    assert any(n.startswith("one of your own papers") for n in notes), notes


async def test_a_followed_authors_paper_is_shown_and_marked(world: World) -> None:
    ada = Person(world.bot(llm=False))
    before = await sample_brief(world, "telegram:42")
    assert OFF_TOPIC not in before.paper_ids()
    assert "Following Ivan Bondarenko" in shown(await ada.says("/follow Bondarenko, Ivan"))
    assert "already follow" in shown(await ada.says("/interests add author I. Bondarenko"))
    after = await sample_brief(world, "telegram:42")
    item = after.find_paper(OFF_TOPIC)
    assert item is not None and item.note.startswith("By Ivan Bondarenko, whom you follow.")
    assert "Unfollowed" in shown(await ada.says("/unfollow Ivan Bondarenko"))
    assert "do not follow" in shown(await ada.says("/unfollow Ivan Bondarenko"))
    assert "author's name" in shown(await ada.says("/follow 1234"))


async def test_asking_about_a_paper_is_a_weak_positive_and_reset_forgets(world: World) -> None:
    ada = Person(world.bot())
    await ada.says(f"/paper {PAPER}")
    assert (await get_reader(world.store, "telegram:42")).asked == [PAPER]
    await ada.clicks("fb", f"up:{PAPER}")
    assert await get_votes(world.store, "telegram:42")
    text = shown(await ada.says("/interests reset-learning"))
    assert "Forgot every" in text
    assert await get_votes(world.store, "telegram:42") == []
    assert (await get_reader(world.store, "telegram:42")).asked == []


async def test_in_a_group_only_admins_change_what_is_learned(world: World) -> None:
    bob = Person(world.bot(), chat_id="-100", is_group=True)
    await bob.clicks("fb", f"up:{PAPER}")
    text = shown(await bob.says("/interests reset-learning"))
    assert "Only chat admins" in text
    assert len(await get_votes(world.store, "telegram:-100")) == 1  # the group's vote stays
    assert await get_votes(world.store, "telegram:42") == []  # and is the group's alone
    assert "Only chat admins" in shown(await bob.says("/follow Yoshua Bengio"))


async def test_watch_watching_and_unwatch(world: World, store: Store) -> None:
    ada = Person(world.bot(llm=False))
    text = shown(await ada.says(f"/watch {PAPER}"))
    assert f"Watching {PAPER} (EMO" in text and "90 days" in text
    assert "new arXiv version" in text and "first code repository" not in text  # it has code
    assert "renewed" in shown(await ada.says(f"/watch {PAPER}"))
    listing = shown(await ada.says("/watching"))
    assert PAPER in listing and "90 days left" in listing
    [w] = await get_watches(store, "telegram:42")
    assert w.repo and w.version == 1  # the baseline the sources gave
    assert "not an arXiv id" in shown(await ada.says("/watch zzz"))
    assert "Stopped watching" in shown(await ada.says(f"/unwatch {PAPER}"))
    assert "watches no paper" in shown(await ada.says("/watching"))
