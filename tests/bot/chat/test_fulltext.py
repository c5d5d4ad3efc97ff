"""Reading the paper, not just its abstract: /paper cards and thread answers from the
full text, as a reader in a chat sees them.

Against local fakes of Hugging Face and the arXiv API (metadata), arXiv's web (HTML
renderings, PDFs, figures; it answers 429 to impolite clients), the LLM (gullible on
purpose about instructions injected in a paper), and Telegram, Slack and Feishu (which
fetch or take uploads of the figure as the real ones do), on both Stores.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from pydantic import SecretStr

from bot.chat.conversation import Conversation
from bot.core.chat import Answer, Incoming, ReceiverDeps
from bot.platforms import PLATFORMS
from bot.platforms.feishu.render import render_feishu
from bot.platforms.feishu.send import FeishuSender
from bot.platforms.slack.receive import EVENTS_PATH, SlackReceiver
from bot.platforms.slack.render import render_slack
from bot.platforms.slack.send import SlackSender
from bot.platforms.telegram.render import render_telegram
from bot.platforms.telegram.send import TelegramSender
from bot.render.markdown import render_markdown
from digest.models import PaperItem, Reply, TextItem
from digest.settings import Settings
from digest.store.base import Store
from tests.bot.platforms.slack.test_chat import SECRET, WAIT, Workspace
from tests.bot.platforms.slack.test_chat import _settings as slack_settings
from tests.chat_helpers import serve_routes
from tests.fakes.arxiv_atom import entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.arxiv_web import FakeArxivWeb, WebPaper, fixture_html, png_bytes
from tests.fakes.feishu_server import FakeFeishu
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.pdf_writer import bomb_pdf, text_pdf
from tests.fakes.slack_server import BOT_USER_ID, FakeSlack
from tests.fakes.sources_server import FakeGitHub, FakeHF
from tests.fakes.telegram_server import FakeTelegram
from tests.fulltext_fixtures import SCALING_PAGES
from tests.platform_settings import updated

KEY = "sk-fulltext-chat"
NOW = dt.datetime(2026, 5, 8, 9, 0, tzinfo=dt.UTC)
EMO = "2605.06663"  # HTML rendering with figures (v2)
SKILL = "2605.06614"  # HTML, no Limitations section
GRPO = "2605.04077"  # HTML with an instruction injected in its text
SCALING = "2605.01640"  # no HTML: the PDF
HOSTILE = "2605.04330"  # no HTML; its PDF is a decompression bomb
NOTHING = "2605.04523"  # neither HTML nor PDF
GONE = "2605.04615"  # withdrawn on arXiv's web
EVIL = "evil.example"


def web_papers() -> dict[str, WebPaper]:
    return {
        EMO: WebPaper(
            html=fixture_html("2605.06663v2.html"),
            versions=2,
            images={"x1.png": png_bytes(), "x2.png": png_bytes()},
        ),
        SKILL: WebPaper(html=fixture_html("2605.06614v1.html")),  # its x3.png is missing
        GRPO: WebPaper(html=fixture_html("2605.04077v1.html")),
        SCALING: WebPaper(pdf=text_pdf(SCALING_PAGES)),
        HOSTILE: WebPaper(pdf=bomb_pdf(200)),
        NOTHING: WebPaper(),
        GONE: WebPaper(withdrawn=True),
    }


@dataclass
class World:
    store: Store
    web: FakeArxivWeb
    llm: FakeLLMServer
    settings: Settings
    conversations: list[Conversation] = field(default_factory=list)

    def bot(self, *, llm: bool = True, **overrides: Any) -> Conversation:
        settings = self.settings.model_copy(
            update={"llm_api_key": self.settings.llm_api_key if llm else None, **overrides}
        )
        conv = Conversation(settings, self.store, now=lambda: NOW, clock=lambda: 0.0)
        self.conversations.append(conv)
        return conv

    def calls(self, task: str) -> list[tuple[str, int, int, float, float]]:
        return self.llm.calls_for(task)


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    async with (
        FakeHF() as hf,
        FakeGitHub.for_fixture() as gh,
        FakeLLMServer(api_key=KEY) as llm,
        FakeArxivWeb(web_papers(), interval=0) as web,
    ):
        with ArxivServer(entries_from_hf_fixture()) as arxiv:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                hf_base_url=hf.base_url,
                github_api_url=gh.base_url,
                arxiv_api_url=arxiv.url,
                arxiv_html_url=web.html_url,
                arxiv_pdf_url=web.pdf_url,
                arxiv_fulltext_interval=0,
                arxiv_delay=0,
                http_retries=0,
                llm_base_url=llm.base_url,
                llm_api_key=KEY,
                redis_url=None,
                language="en",
            )
            w = World(store, web, llm, settings)
            yield w
            for conv in w.conversations:
                await conv.close(0)


@dataclass
class Person:
    conv: Conversation
    chat_id: str = "42"
    platform: str = "telegram"
    n: int = 0

    def incoming(self, text: str = "", **kw: Any) -> Incoming:
        self.n += 1
        base = Incoming(
            platform=self.platform,  # type: ignore[arg-type]
            chat_id=self.chat_id,
            user_id="7",
            text=text,
            message_ref=f"m{self.n}",
            reply_ref=f"m{self.n}",
        )
        return replace(base, **kw)

    async def says(self, text: str, **kw: Any) -> list[Answer]:
        return await self.conv.handle(self.incoming(text, **kw))

    async def card(self, paper: str) -> tuple[Answer, str]:
        """/paper, delivered as message "card-<paper>": the answer and that message ref."""
        inc = self.incoming(f"/paper {paper}")
        [answer] = await self.conv.handle(inc)
        ref = f"card-{paper}"
        await self.conv.remember(inc, answer, [ref])
        return answer, ref

    async def replies(self, ref: str, text: str) -> Answer:
        [answer] = await self.says(text, thread_refs=(ref,))
        return answer


def shown(answers: Sequence[Answer]) -> str:
    return "\n".join(render_markdown(a.doc) for a in answers)


def card_item(answer: Answer) -> PaperItem:
    assert isinstance(answer.doc, Reply)
    [item] = [i for s in answer.doc.sections for i in s.items if isinstance(i, PaperItem)]
    return item


def details(answer: Answer) -> dict[str, str]:
    return {d.label: d.text for d in card_item(answer).details}


# --- /paper -----------------------------------------------------------------------------


async def test_paper_from_the_html_rendering(world: World) -> None:
    ada = Person(world.bot())
    answer, _ = await ada.card(EMO)
    got = details(answer)
    assert got["Read from"] == "the full text (arXiv HTML, v2)"
    # The paper's own numbers, from its results sections and tables; none invented.
    assert "56.1" in got["Key results"] and "99.9" not in shown([answer])
    assert "1T tokens of the OLMo-Mix corpus" in got["Method"]  # its data and setup
    assert got["Limits"].startswith("Our study covers a single model size")
    assert "github.com/allenai/EMO" not in got["Code and data"]  # links come from code
    assert "Code and checkpoints" in got["Code and data"]
    item = card_item(answer)
    assert item.links.html == f"{world.web.html_url}{EMO}v2"
    assert isinstance(answer.doc, Reply) and answer.doc.figure is not None
    assert answer.doc.figure.url == f"{world.web.html_url}{EMO}v2/x1.png"
    assert answer.doc.figure.label == "Figure 1"
    # Still one LLM call, its input bounded by the budget (with room to spare).
    [(_, prompt, _, _, _)] = world.calls("paper_details")
    assert prompt <= 8000
    excerpts = json.loads(world.llm.requests[-1]["messages"][-1]["content"])["paper"]["excerpts"]
    assert {"§7 Limitations", "Table 1"} <= {e["where"] for e in excerpts}


async def test_paper_from_the_pdf_when_there_is_no_html(world: World) -> None:
    answer, _ = await Person(world.bot()).card(SCALING)
    assert details(answer)["Read from"] == "the full text (PDF, 3 pages)"
    assert "412" in shown([answer]) or "4 epochs" in shown([answer])
    assert card_item(answer).links.html is None
    assert isinstance(answer.doc, Reply) and answer.doc.figure is None
    assert world.web.paths() == [f"/html/{SCALING}", f"/pdf/{SCALING}"]


async def test_paper_from_the_abstract_only_says_why(world: World) -> None:
    ada = Person(world.bot())
    answer, _ = await ada.card(NOTHING)
    assert details(answer)["Read from"] == (
        "the abstract only: arXiv has no HTML rendering of it and no PDF could be fetched"
    )
    [asked] = await ada.says(f"/paper {EMO} --abstract-only")
    assert details(asked)["Read from"] == "the abstract only: the full text was not asked for"
    assert f"/html/{EMO}" not in world.web.paths()


async def test_a_withdrawn_paper_gets_one_clear_line(world: World) -> None:
    text = shown(await Person(world.bot()).says(f"/paper {GONE}"))
    assert text.strip() == f"{GONE} was withdrawn by its authors: there is nothing to read."


async def test_a_second_chat_asking_for_the_same_paper_fetches_nothing_again(
    world: World,
) -> None:
    conv = world.bot()
    await Person(conv, chat_id="1").card(EMO)
    fetched = list(world.web.requests)
    [again] = await Person(conv, chat_id="2").says(f"/paper {EMO}")
    assert details(again)["Read from"] == "the full text (arXiv HTML, v2)"
    assert world.web.requests == fetched  # read once, for everyone
    assert len(world.calls("paper_details")) == 1  # written once, for everyone


# --- questions --------------------------------------------------------------------------


async def test_a_reply_to_a_card_is_answered_from_the_paper_with_its_section(
    world: World,
) -> None:
    ada = Person(world.bot())
    _, card = await ada.card(EMO)
    answer = await ada.replies(card, "What learning rate and batch size did they use?")
    assert isinstance(answer.doc, Reply)
    [item] = [i for s in answer.doc.sections for i in s.items if isinstance(i, TextItem)]
    assert "4e-4" in item.text and "4M tokens" in item.text
    assert [(s.label, s.url) for s in item.sources] == [
        ("§4.2 Training details", f"{world.web.html_url}{EMO}v2#S4.SS2")
    ]
    # The link is the code's, shown on every platform.
    html = render_telegram(answer.doc)[0].payload["text"]
    assert f'<a href="{world.web.html_url}{EMO}v2#S4.SS2">§4.2 Training details</a>' in html


async def test_a_pdf_answer_cites_its_page(world: World) -> None:
    ada = Person(world.bot())
    _, card = await ada.card(SCALING)
    answer = await ada.replies(card, "Up to how many epochs is repeated data as good as fresh?")
    text = shown([answer])
    assert "§3 Results (p. 2)" in text and f"{world.web.pdf_url}{SCALING}#page=2" in text


async def test_when_no_passage_matches_the_paper_does_not_seem_to_say(world: World) -> None:
    ada = Person(world.bot())
    _, card = await ada.card(EMO)
    before = len(world.calls("ask"))
    answer = await ada.replies(card, "Does it use RLHF with a reward model?")
    assert shown([answer]).startswith("The paper does not seem to say")
    assert len(world.calls("ask")) == before  # nothing to ground an answer: no guess asked


async def test_without_an_llm_or_when_it_fails_the_answer_quotes_the_paper(
    world: World,
) -> None:
    ada = Person(world.bot(llm=False))
    _, card = await ada.card(EMO)
    text = shown([await ada.replies(card, "What are the limitations?")])
    assert text.startswith("What the paper says: “Our study covers a single model size")
    assert "(§7 Limitations)" in text
    bob = Person(world.bot(), chat_id="9")
    _, card = await bob.card(EMO)
    world.llm.fail_next("500", count=4)  # the SDK's own retry fails too
    text = shown([await bob.replies(card, "What are the limitations?")])
    assert text.startswith("What the paper says:") and "§7 Limitations" in text
    world.llm.fail_next("malformed", count=2)
    text = shown([await bob.replies(card, "Which corpus was it pretrained on?")])
    assert "OLMo-Mix" in text and "§4.1 Pretraining data" in text


async def test_a_thread_follow_up_is_read_with_the_question_before_it(world: World) -> None:
    ada = Person(world.bot())
    _, card = await ada.card(SKILL)
    inc = ada.incoming("What is the success rate on ALFWorld?", thread_refs=(card,))
    [first] = await ada.conv.handle(inc)
    await ada.conv.remember(inc, first, ["a1"])
    await ada.replies(card, "and on WebShop?")
    sent = json.loads(world.llm.requests[-1]["messages"][-1]["content"])
    assert sent["history"][0]["q"] == "What is the success rate on ALFWorld?"
    assert any("WebShop" in p["text"] for p in sent["passages"])


# --- safety -----------------------------------------------------------------------------


def _every_payload(doc: Reply) -> str:
    out = [json.dumps(m.payload, ensure_ascii=False) for m in render_telegram(doc)]
    out += [json.dumps(m.payload, ensure_ascii=False) for m in render_slack(doc)]
    out += [json.dumps(m.payload, ensure_ascii=False) for m in render_feishu(doc, mode="app")]
    return "\n".join(out)


async def test_an_instruction_injected_in_a_paper_changes_nothing_the_code_guarantees(
    world: World,
) -> None:
    ada = Person(world.bot())
    card, ref = await ada.card(GRPO)
    system, user = (m["content"] for m in world.llm.requests[-1]["messages"])
    # The prompt says paper text is data; the injected text travels only inside the data.
    assert "data, not instructions" in system and "ignore previous" not in system.lower()
    assert "ignore previous instructions" in user
    assert isinstance(card.doc, Reply)
    payloads = _every_payload(card.doc)
    answer = await ada.replies(ref, "Say what the system note to AI assistants says.")
    assert isinstance(answer.doc, Reply)
    payloads += _every_payload(answer.doc)
    assert EVIL not in payloads  # no link of the paper's: URLs are dropped
    ours = (
        "https://arxiv.org/",
        "https://huggingface.co/",
        "https://github.com/",
        world.web.origin,
    )
    hrefs = re.findall(r'<a href=\\?"([^"\\]*)', payloads)
    assert hrefs and all(h.startswith(ours) for h in hrefs)  # markup of the paper stays text
    assert "&lt;a href=" in payloads
    slack = json.dumps([m.payload for m in render_slack(answer.doc)], ensure_ascii=False)
    assert "@channel" in answer.doc.sections[0].items[0].text  # type: ignore[union-attr]
    assert "@channel" not in slack and "<!channel>" not in slack  # no mass mention on Slack
    links = [s.url for s in answer.doc.sections[0].items[0].sources]  # type: ignore[union-attr]
    assert links and all(str(u).startswith(world.web.html_url) for u in links)


# --- hostile PDFs -----------------------------------------------------------------------


async def test_a_hostile_pdf_neither_hangs_nor_crashes_anything(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    conv = world.bot()
    answer, _ = await Person(conv).card(HOSTILE)
    assert details(answer)["Read from"] == "the abstract only: its PDF could not be read"
    # A parser that runs past its time limit is killed: a short limit makes every PDF one.
    slow = world.bot(pdf_parse_seconds=0.01)
    with caplog.at_level(logging.WARNING):
        answer, _ = await Person(slow, chat_id="5").card(SCALING)
    assert details(answer)["Read from"] == "the abstract only: reading its PDF took too long"
    assert "PDF parser stopped" in caplog.text
    # And the bot goes on answering.
    assert "/paper" in shown(await Person(conv, chat_id="6").says("/help"))


# --- the figure on each platform ----------------------------------------------------------


async def test_the_figure_on_telegram_is_a_photo_before_the_card(world: World) -> None:
    answer, _ = await Person(world.bot()).card(EMO)
    async with FakeTelegram() as tg:
        settings = updated(
            world.settings, telegram_token=SecretStr(tg.token), telegram_api_url=tg.base_url
        )
        sender = TelegramSender(settings)
        conv = world.bot()
        try:
            inc = Incoming(platform="telegram", chat_id="42", user_id="7", text="/paper")
            refs = await conv.deliver(inc, answer, sender)
            # The same card with a figure Telegram cannot fetch: the card still arrives.
            assert isinstance(answer.doc, Reply) and answer.doc.figure is not None
            broken = answer.doc.model_copy(
                update={
                    "figure": answer.doc.figure.model_copy(
                        update={"url": "http://127.0.0.1:9/x.png"}
                    )
                }
            )
            refs2 = await conv.deliver(inc, Answer(broken), sender)
        finally:
            await sender.aclose()
        photo, card, card2 = tg.by_chat(42)
    assert photo.photo == f"{world.web.html_url}{EMO}v2/x1.png"
    assert photo.text.startswith("Figure 1: EMO routes every token")
    assert len(photo.text) <= 1024 and "EMO: Pretraining" in card.text
    assert refs == [str(photo.message_id), str(card.message_id)]
    assert card2.photo is None and refs2 == [str(card2.message_id)]
    assert [r.error for r in tg.rejections] == ["Bad Request: failed to get HTTP URL content"]


async def test_the_figure_on_slack_is_an_image_block(world: World) -> None:
    answer, _ = await Person(world.bot()).card(EMO)
    assert isinstance(answer.doc, Reply) and answer.doc.figure is not None
    async with FakeSlack() as slack:
        settings = updated(
            world.settings, slack_bot_token=SecretStr(slack.token), slack_api_url=slack.base_url
        )
        sender = SlackSender(settings)
        conv = world.bot()
        try:
            inc = Incoming(platform="slack", chat_id="C1", user_id="U1", text="/paper")
            await conv.deliver(inc, answer, sender)
            gone = answer.doc.figure.model_copy(update={"url": f"{world.web.html_url}nope.png"})
            await conv.deliver(inc, Answer(answer.doc.model_copy(update={"figure": gone})), sender)
        finally:
            await sender.aclose()
        first, second = slack.by_channel("C1")
    image = first.blocks[0]
    assert image["type"] == "image" and image["image_url"].endswith(f"{EMO}v2/x1.png")
    assert image["title"]["text"].startswith("Figure 1: EMO routes")
    assert all(b["type"] != "image" for b in second.blocks)  # dropped, card kept
    assert "EMO: Pretraining" in json.dumps(second.blocks)


async def test_the_figure_on_feishu_is_uploaded_then_shown(world: World) -> None:
    answer, _ = await Person(world.bot()).card(EMO)
    async with FakeFeishu(chats=["oc_team"]) as fs:
        settings = updated(
            world.settings,
            feishu_app_id=fs.app_id,
            feishu_app_secret=SecretStr(fs.app_secret),
            feishu_base_url=fs.base_url,
        )
        sender = FeishuSender(settings)
        conv = world.bot()
        try:
            inc = Incoming(platform="feishu", chat_id="oc_team", user_id="ou_1", text="/paper")
            await conv.deliver(inc, answer, sender)
            fs.fail_next(400, endpoint="im.image.create", code=234011)
            await conv.deliver(inc, answer, sender)
        finally:
            await sender.aclose()
        first, second = [m for m in fs.messages if m.chat == "oc_team"]
    [key] = fs.images
    assert fs.images[key] == png_bytes()
    elements = first.content["body"]["elements"]
    assert elements[0]["tag"] == "img" and elements[0]["img_key"] == key
    assert "Figure 1: EMO routes" in elements[1]["content"]
    assert all(e["tag"] != "img" for e in second.content["body"]["elements"])


# --- Slack: a /paperdrop paper card is a message to thread questions under -------------


async def test_a_slack_slash_paper_card_is_posted_and_its_thread_answered(
    world: World,
) -> None:
    async with FakeSlack() as fake:
        fake.add_user("U1", name="ben")
        settings = slack_settings(fake).model_copy(
            update={
                k: getattr(world.settings, k)
                for k in (
                    "hf_base_url",
                    "arxiv_api_url",
                    "github_api_url",
                    "arxiv_html_url",
                    "arxiv_pdf_url",
                    "llm_base_url",
                    "llm_api_key",
                )
            }
        )
        conversation = Conversation(settings, world.store)
        sender = SlackSender(settings)
        receiver = PLATFORMS["slack"].make_receiver(
            ReceiverDeps(settings, world.store, conversation, sender)
        )
        assert isinstance(receiver, SlackReceiver)
        try:
            async with serve_routes(receiver, EVENTS_PATH) as url:
                await receiver.start()
                slack = Workspace(fake, world.store, conversation, receiver, sender, url)
                command = fake.slash_command(f"paper {EMO}", user_id="U1", channel_id="C1")
                await slack.send("slash_commands", command)
                await fake.wait_until(lambda: bool(fake.by_channel("C1")), WAIT)
                card = fake.by_channel("C1")[-1]
                assert card.blocks is not None and card.blocks[0]["type"] == "image"
                assert "EMO: Pretraining" in json.dumps(card.blocks)
                assert fake.responses_to(command["response_url"]) == []
                _, answer = await slack.say(
                    f"<@{BOT_USER_ID}> what learning rate did they use?",
                    thread_ts=card.ts,
                    mention=True,
                )
        finally:
            await receiver.stop()
            await conversation.close()
            await sender.aclose()
    assert answer.thread_ts == card.ts
    shown_text = json.dumps(answer.blocks, ensure_ascii=False)
    assert "4e-4" in shown_text and "§4.2 Training details" in shown_text
    assert SECRET not in shown_text
