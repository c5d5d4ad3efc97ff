"""The conversation, platform-neutral: what a reader types and what paperdrop answers.

Every platform's receiver turns its events into `Incoming` and renders the same answers;
these tests read like a chat against local fakes of Hugging Face, arXiv, GitHub and the
LLM, on both Stores (SQLite and a real Redis).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from bot.chat.conversation import Conversation
from bot.core.chat import Answer, Incoming
from bot.core.observability import REGISTRY
from bot.core.profiles import chat_profile
from bot.platforms.slack.render import render_slack
from bot.platforms.telegram.render import render_telegram
from bot.render.markdown import render_markdown
from digest.chatstate import get_votes, last_briefs, record_brief
from digest.models import Brief, IdeaItem, PaperItem, Reply, Subscription
from digest.pipeline import build_brief
from digest.settings import Settings
from digest.store.base import Store
from handlers.context import Args, HandlerContext
from handlers.registry import COMMANDS, Command
from tests.fakes.arxiv_atom import entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.arxiv_web import FakeArxivWeb, WebPaper, fixture_html
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.sources_server import FakeGitHub, FakeHF

KEY = "sk-conversation-test"
PAPER = "2605.06663"  # EMO, with a GitHub repo in the fixture
NOW = dt.datetime(2026, 5, 8, 9, 0, tzinfo=dt.UTC)


@dataclass
class World:
    store: Store
    hf: FakeHF
    gh: FakeGitHub
    arxiv: ArxivServer
    llm: FakeLLMServer
    settings: Settings
    conversations: list[Conversation] = field(default_factory=list)

    def bot(self, *, llm: bool = True, **overrides: Any) -> Conversation:
        settings = self.settings.model_copy(
            update={"llm_api_key": self.settings.llm_api_key if llm else None, **overrides}
        )
        conv = Conversation(settings, self.store, now=lambda: NOW, clock=Clock())
        self.conversations.append(conv)
        return conv


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    emo = WebPaper(html=fixture_html("2605.06663v2.html"), versions=2)
    async with (
        FakeHF() as hf,
        FakeGitHub.for_fixture() as gh,
        FakeLLMServer(api_key=KEY) as llm,
        FakeArxivWeb({PAPER: emo}, interval=0) as web,
    ):
        with ArxivServer(entries_from_hf_fixture()) as arxiv:
            settings = Settings(
                arxiv_html_url=web.html_url,
                arxiv_pdf_url=web.pdf_url,
                hf_base_url=hf.base_url,
                github_api_url=gh.base_url,
                arxiv_api_url=arxiv.url,
                arxiv_delay=0,
                http_retries=0,
                llm_base_url=llm.base_url,
                llm_api_key=KEY,
                redis_url=None,
                language="en",
            )
            w = World(store, hf, gh, arxiv, llm, settings)
            yield w
            for conv in w.conversations:
                await conv.close(0)


@dataclass
class Person:
    """Someone typing in one chat."""

    conv: Conversation
    chat_id: str = "42"
    user_id: str = "7"
    is_group: bool = False
    platform: str = "telegram"
    _n: int = 0

    def incoming(self, text: str = "", **kw: Any) -> Incoming:
        self._n += 1
        base = Incoming(
            platform=self.platform,  # type: ignore[arg-type]
            chat_id=self.chat_id,
            user_id=self.user_id,
            text=text,
            is_group=self.is_group,
            message_ref=f"m{self._n}",
            reply_ref=f"m{self._n}",
        )
        return replace(base, **kw)

    async def says(self, text: str, **kw: Any) -> list[Answer]:
        return await self.conv.handle(self.incoming(text, **kw))

    async def clicks(self, action: str, value: str, **kw: Any) -> list[Answer]:
        return await self.conv.handle(self.incoming(button=(action, value), **kw))


def shown(answers: Sequence[Answer]) -> str:
    """What the reader sees (the Markdown rendering: the same document every platform draws)."""
    return "\n".join(render_markdown(a.doc) for a in answers)


async def sample_brief(world: World, chat_key: str) -> Brief:
    profile = await chat_profile(world.settings, world.store, chat_key, None, "en")
    return await build_brief(
        world.settings, profile, dt.date(2026, 5, 8), store=world.store, use_llm=False, sample=True
    )


# --- commands ---------------------------------------------------------------------------


async def test_help_lists_every_command_from_the_registry(world: World) -> None:
    ada = Person(world.bot())
    text = shown(await ada.says("/help"))
    for name in ("paper", "ideas", "brief", "subscribe", "unsubscribe", "interests", "lang"):
        assert f"/{name}" in text
    assert "/feedback" not in text and "/ask" not in text  # internal commands stay hidden


async def test_paper_card_goes_deeper_than_the_brief(world: World) -> None:
    ada = Person(world.bot())
    [answer] = await ada.says(f"/paper {PAPER}")
    doc = answer.doc
    assert isinstance(doc, Reply) and doc.paper_id == PAPER
    [item] = [i for s in doc.sections for i in s.items if isinstance(i, PaperItem)]
    labels = [d.label for d in item.details]
    assert labels == ["Read from", "Problem", "Method", "Key results", "Limits", "Code and data"]
    assert item.details[0].text == "the full text (arXiv HTML, v2)"
    # Links come from the code; the fake LLM's invented "99.9%" never reaches the reader.
    assert item.links.abs == f"https://arxiv.org/abs/{PAPER}" and item.links.repo
    text = shown([answer])
    assert "99.9" not in text
    assert "github.com/allenai/EMO" in text and "★" in text  # repo with verified stars
    assert [b.value for b in doc.buttons] == [f"up:{PAPER}", f"down:{PAPER}"]


async def test_a_card_costs_one_llm_call_per_paper_whoever_asks(world: World) -> None:
    conv = world.bot()
    await Person(conv, chat_id="1").says(f"/paper {PAPER}")
    assert [c[0] for c in world.llm.calls] == ["paper_details"]
    # Another chat, another profile, a versioned id: the same paper, no new call.
    other = Person(conv, chat_id="2", user_id="8")
    await other.says("/interests mixture of experts")
    [answer] = await other.says(f"/paper {PAPER}v2")
    assert len(world.llm.calls) == 1
    [item] = [i for s in answer.doc.sections for i in s.items if isinstance(i, PaperItem)]
    assert "mixture of experts" in item.relation  # the relation is this chat's own


async def test_an_impossible_id_is_refused_before_any_request(world: World) -> None:
    ada = Person(world.bot())
    text = shown(await ada.says("/paper 9999.99999"))
    assert "is not an arXiv id" in text and "hep-th/9901001" in text
    assert world.hf.requests == [] and world.arxiv.requests == []


async def test_an_unknown_paper_gets_one_clear_line(world: World) -> None:
    ada = Person(world.bot())
    text = shown(await ada.says("/paper 2605.00001"))
    assert text.strip() == "No paper 2605.00001 on arXiv or Hugging Face."


async def test_old_style_ids_and_links_are_understood(world: World) -> None:
    ada = Person(world.bot())
    # Not in the fixture: the answer names the parsed id, proving it was understood.
    text = shown(await ada.says("/paper hep-th/9901001"))
    assert "hep-th/9901001" in text and "not an arXiv id" not in text
    text = shown(await ada.says(f"/paper https://huggingface.co/papers/{PAPER}"))
    assert "EMO" in text


async def test_an_item_number_means_that_item_of_the_last_brief(world: World) -> None:
    ada = Person(world.bot())
    text = shown(await ada.says("/paper 2"))
    assert "No brief reached this chat yet" in text
    brief = await sample_brief(world, "telegram:42")
    await record_brief(world.store, "telegram:42", brief)
    second = brief.paper_ids()[1]
    [answer] = await ada.says("/paper 2")
    assert isinstance(answer.doc, Reply) and answer.doc.paper_id == second
    too_far = shown(await ada.says("/paper 99"))
    assert f"has items 1–{len(brief.paper_ids())}" in too_far
    # The number a reader sees is the number that works: item 7 is in "also worth a glance".
    seventh = brief.find_paper(brief.paper_ids()[6])
    assert seventh is not None
    visible = "\n".join(m.text for m in render_telegram(brief))
    assert f"7. {seventh.title}" in visible
    [answer] = await ada.says("/paper 7")
    assert isinstance(answer.doc, Reply) and answer.doc.paper_id == seventh.paper_id


async def test_a_bare_id_in_a_dm_is_a_paper_request(world: World) -> None:
    ada = Person(world.bot())
    [answer] = await ada.says(f"https://arxiv.org/abs/{PAPER}")
    assert isinstance(answer.doc, Reply) and answer.doc.paper_id == PAPER


async def test_ideas_cite_only_papers_of_the_chats_briefs(world: World) -> None:
    ada = Person(world.bot())
    brief = await sample_brief(world, "telegram:42")
    await record_brief(world.store, "telegram:42", brief)
    [answer] = await ada.says("/ideas")
    ideas = [i for s in answer.doc.sections for i in s.items if isinstance(i, IdeaItem)]
    assert len(ideas) == 3
    known = set(brief.paper_ids())
    for idea in ideas:
        assert idea.paper_ids and set(idea.paper_ids) <= known  # "9999.00001" was dropped
        assert idea.experiment
    text = shown([answer])
    assert f"https://arxiv.org/abs/{ideas[0].paper_ids[0]}" in text


async def test_ideas_on_a_topic_use_matching_papers_only(world: World) -> None:
    ada = Person(world.bot())
    await record_brief(world.store, "telegram:42", await sample_brief(world, "telegram:42"))
    [answer] = await ada.says("/ideas skill curation for self-evolving agents")
    ideas = [i for s in answer.doc.sections for i in s.items if isinstance(i, IdeaItem)]
    assert ideas and ideas[0].paper_ids[0] == "2605.06614"  # SkillOS, the one that matches
    assert "skill curation" in answer.doc.title
    nothing = shown(await ada.says("/ideas protein folding of marine sponges"))
    assert "No recent paper matches" in nothing


async def test_ideas_without_an_llm_say_so_plainly(world: World) -> None:
    ada = Person(world.bot(llm=False))
    text = shown(await ada.says("/ideas"))
    assert "need an LLM" in text and "PAPERDROP_" not in text


# --- threads, questions, feedback ----------------------------------------------------------


async def test_a_question_in_a_papers_thread_is_answered_from_that_paper(world: World) -> None:
    conv = world.bot()
    ada = Person(conv, chat_id="-100", is_group=True)
    inc = ada.incoming(f"/paper {PAPER}")
    [card] = await conv.handle(inc)
    await conv.remember(inc, card, ["500"])  # the card went out as message 500
    [answer] = await ada.says(
        "what do the experts specialise in?", thread_refs=("500",), reply_ref="m9"
    )
    text = shown([answer])
    assert text.startswith("According to §6 Analysis of expert specialisation:")
    assert "Sources*: [§6 Analysis of expert specialisation]" in text
    assert answer.reply_to == "m9"  # in the thread
    # Not addressed and not in a known thread: group chatter is left alone.
    assert await ada.says("nice weather", addressed=False) == []


async def test_the_thread_remembers_its_questions(world: World) -> None:
    conv = world.bot()
    ada = Person(conv)
    inc = ada.incoming(f"/paper {PAPER}")
    [card] = await conv.handle(inc)
    await conv.remember(inc, card, ["500"])
    first = ada.incoming("how many experts?", thread_refs=("500",))
    [answer] = await conv.handle(first)
    await conv.remember(first, answer, ["501"])
    await ada.says("and the data?", thread_refs=("500",))
    ask = world.llm.requests[-1]["messages"][-1]["content"]
    assert "how many experts?" in ask  # the earlier question travels as history


async def test_without_an_llm_answers_quote_the_paper(world: World) -> None:
    conv = world.bot(llm=False)
    ada = Person(conv)
    inc = ada.incoming(f"/paper {PAPER}")
    [card] = await conv.handle(inc)
    await conv.remember(inc, card, ["500"])
    text = shown(await ada.says("what do the experts specialise in?", thread_refs=("500",)))
    assert "What the paper says:" in text and "“" in text and "(Figure 2)" in text
    text = shown(await ada.says("zzz qqq?", thread_refs=("500",)))
    assert "The paper does not seem to say" in text


async def test_thumbs_up_count_once_and_teach_the_brief_from_the_fifth(world: World) -> None:
    conv = world.bot()
    ada = Person(conv)
    before = await sample_brief(world, "telegram:42")
    others = before.section("others")
    assert others is not None
    # The reader likes the glance list's last five papers, not the picks.
    liked = [i.paper_id for i in others.items if isinstance(i, PaperItem)][-5:]
    for n, pid in enumerate(liked[:4], 1):
        [ack] = await ada.clicks("fb", f"up:{pid}")
        assert ack.notice and "More like this" in ack.text
        assert f"{5 - n} more 👍" in ack.text
    [again] = await ada.clicks("fb", f"up:{liked[0]}")
    assert "Already noted" in again.text
    votes = await get_votes(world.store, "telegram:42")
    assert [(v.paper_id, v.value) for v in votes] == [(pid, 1) for pid in liked[:4]]
    # Four positives: the cold start, the same brief (and the same shared profile).
    assert (await sample_brief(world, "telegram:42")).paper_ids() == before.paper_ids()
    [ack] = await ada.clicks("fb", f"up:{liked[4]}")
    assert "more 👍" not in ack.text
    after = await sample_brief(world, "telegram:42")
    place = {pid: after.paper_ids().index(pid) for pid in liked}
    was = {pid: before.paper_ids().index(pid) for pid in liked}
    assert sum(place.values()) < sum(was.values())
    text = shown(await ada.says("/interests"))
    assert "Learned from 5 👍, 0 👎" in text
    assert "More of:" in text
    # Another chat's brief did not move.
    assert (await sample_brief(world, "telegram:43")).paper_ids() == before.paper_ids()


async def test_a_forged_button_value_is_refused_politely(world: World) -> None:
    ada = Person(world.bot())
    [answer] = await ada.clicks("fb", "sideways:<b>x</b>")
    assert answer.text == "That button is no longer valid."


# --- subscriptions and settings ------------------------------------------------------------


async def test_subscribe_in_a_group_is_for_admins(world: World) -> None:
    conv = world.bot()
    bob = Person(conv, chat_id="-100", is_group=True)

    async def no() -> bool:
        return False

    async def yes() -> bool:
        return True

    text = shown(await conv.handle(bob.incoming("/subscribe"), is_admin=no))
    assert "Only chat admins can use /subscribe" in text
    assert await world.store.get_subscription("telegram", "-100") is None
    text = shown(await conv.handle(bob.incoming("/subscribe 07:30 Asia/Shanghai"), is_admin=yes))
    sub = await world.store.get_subscription("telegram", "-100")
    assert sub is not None and (sub.time, sub.tz, sub.threads) == ("07:30", "Asia/Shanghai", True)
    assert "07:30 (Asia/Shanghai)" in text
    bad = shown(await conv.handle(bob.incoming("/subscribe 25:00"), is_admin=yes))
    assert "neither a time" in bad


async def test_interests_and_language_follow_the_chat(world: World) -> None:
    conv = world.bot()
    ada = Person(conv)
    await ada.says("/interests mixture of experts; world models")
    text = shown(await ada.says("/interests"))
    assert "mixture of experts" in text and "world models" in text
    assert "好的" in shown(await ada.says("/lang zh"))
    assert "没有 /frobnicate 这个命令" in shown(await ada.says("/frobnicate"))
    await ada.says("/subscribe")
    sub = await world.store.get_subscription("telegram", "42")
    assert sub is not None and sub.language == "zh"
    assert sub.interests == ["mixture of experts", "world models"] and not sub.threads
    await ada.says("/unsubscribe")
    assert await world.store.get_subscription("telegram", "42") is None


# --- bad input and misbehaviour ------------------------------------------------------------


async def test_unknown_commands_and_chatter_get_a_pointer(world: World) -> None:
    ada = Person(world.bot())
    assert "Unknown command /frobnicate. /help lists" in shown(await ada.says("/frobnicate now"))
    assert "/help lists them" in shown(await ada.says("hello there"))
    group = Person(world.bot(), chat_id="-5", is_group=True)
    assert await group.says("/paper@someone_elses_bot 2605.06663", bot_name="paperdrop_bot") == []


async def test_a_huge_message_is_refused_clearly(world: World) -> None:
    ada = Person(world.bot(max_input_chars=100))
    text = shown(await ada.says("/paper " + "x" * 500))
    assert "too long (507 characters; at most 100)" in text


async def test_a_flood_of_llm_commands_gets_slow_down(world: World) -> None:
    ada = Person(world.bot(command_rate_user=2))
    await ada.says("/paper 9999.99999")  # refused ids still count: they are still requests
    await ada.says("/paper 9999.99999")
    assert "Slow down" in shown(await ada.says(f"/paper {PAPER}"))
    assert "/paper" in shown(await ada.says("/help"))  # cheap commands are not limited


async def test_a_crashing_handler_answers_and_the_next_message_works(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(ctx: HandlerContext, args: Args) -> Reply:
        raise RuntimeError("kaboom")

    monkeypatch.setitem(
        COMMANDS, "boom", Command("boom", boom, "", "Explodes.", "", False, False, False)
    )
    ada = Person(world.bot())
    assert shown(await ada.says("/boom")).strip() == "Something went wrong, try again."
    assert "kaboom" in caplog.text  # logged with its traceback
    assert "/paper" in shown(await ada.says("/help"))


async def test_a_retried_event_is_answered_once(world: World) -> None:
    ada = Person(world.bot())
    assert await ada.says("/help", event_id="E1")
    assert await ada.says("/help", event_id="E1") == []


async def test_markup_in_a_question_stays_text(world: World) -> None:
    ada = Person(world.bot())
    [answer] = await ada.says("/frobnicate<b>@channel</b>")
    assert isinstance(answer.doc, Reply)

    html = render_telegram(answer.doc)[0].payload["text"]
    assert "<b>@channel</b>" not in html and "&lt;b&gt;" in html
    blocks = str(render_slack(answer.doc)[0].payload)
    assert "<!channel>" not in blocks


async def test_a_subscription_s_profile_is_the_chats(world: World) -> None:
    sub = Subscription(platform="slack", chat_id="C1", interests=["world models"], language="zh")
    await world.store.save_subscription(sub)
    conv = world.bot()
    ctx = await conv.context(Person(conv, chat_id="C1", platform="slack").incoming(), None)
    assert ctx.language == "zh" and ctx.profile.interests == ["world models"]
    assert await last_briefs(world.store, "slack:C1") == []


async def test_llm_calls_and_tokens_are_counted_by_task(world: World) -> None:
    def calls() -> float:
        labels = {"task": "paper_details", "outcome": "ok"}
        return REGISTRY.get_sample_value("paperdrop_llm_calls_total", labels) or 0.0

    before = calls()
    await Person(world.bot()).says(f"/paper {PAPER}")
    assert calls() == before + 1
    tokens = REGISTRY.get_sample_value(
        "paperdrop_llm_tokens_total", {"task": "paper_details", "kind": "prompt"}
    )
    assert tokens is not None and tokens > 0


async def test_a_card_says_the_llm_failed_not_that_none_is_configured(world: World) -> None:
    world.llm.fail_next("500", count=20)
    conv = world.bot()
    text = shown(await Person(conv).says(f"/paper {PAPER}"))
    assert "the LLM did not answer this time" in text
    assert "no LLM configured" not in text
    world.llm.clear_failures()
    unconfigured = shown(await Person(world.bot(llm=False), chat_id="43").says(f"/paper {PAPER}"))
    assert "no LLM configured" in unconfigured
