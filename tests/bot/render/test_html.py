"""`paperdrop brief --format html`: one self-contained page, checked as text and in a real
headless Chromium (Debian's `chromium`, at /usr/bin/chromium; `bash .ci/run` installs it).

The browser tests never touch the network: the page forbids every load itself (a
Content-Security-Policy), Chromium resolves no host, and the sample brief is made from
data shipped in the package with every source URL pointed at a closed local port.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from bot.cli import app
from bot.render.html import render_html, safe_href
from digest.models import (
    Brief,
    Detail,
    IdeaItem,
    PaperItem,
    PaperLinks,
    Reply,
    RepoItem,
    Section,
    SourceItem,
    TextItem,
)
from digest.pipeline import build_brief
from digest.profile import example_profile
from digest.sample import SAMPLE_DATE
from digest.settings import Settings
from digest.store import SQLiteStore
from tests.conftest import missing
from tests.delivery_helpers import built_brief
from tests.render_checks import assert_in_order, assert_links_in_order
from tests.strategies import briefs, examples

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = (1280, 1400)
MOBILE = (390, 1400)

# The tags a page may hold: no script, no embedded or external resource of any kind.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "nav", "section",
    "article", "footer", "h1", "h2", "h3", "h4", "p", "br", "a", "span", "strong", "ul", "ol",
    "li", "dl", "dt", "dd", "div", "table", "colgroup", "col", "thead", "tbody", "tr", "th",
    "td",
}  # fmt: skip


class Page(HTMLParser):
    """The parts of a page the tests look at: tags, attributes, links, visible text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self._skip = 0
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if found.get("id"):
            self.ids.append(found["id"] or "")
        if tag == "a":
            self.hrefs.append(found.get("href") or "")
        if tag in ("style", "title", "head"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "head"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)

    def count(self, tag: str, cls: str | None = None) -> int:
        return sum(
            1
            for t, a in self.tags
            if t == tag and (cls is None or cls in (a.get("class") or "").split())
        )


def assert_safe(page: Page) -> None:
    for tag, attrs in page.tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}>"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            assert name not in ("src", "srcset", "action", "formaction", "background")
            if name == "href":
                assert value and (
                    value.startswith("#") or value.startswith(("http://", "https://"))
                ), value
    internal = [h[1:] for h in page.hrefs if h.startswith("#")]
    assert set(internal) <= set(page.ids), "a link to an anchor that is not on the page"
    assert len(page.ids) == len(set(page.ids)), "an id given twice"


# --- the page as text ---------------------------------------------------------------------


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(briefs())
def test_any_brief_is_a_safe_complete_page(brief: Brief) -> None:
    out = render_html(brief)
    page = Page(out)
    assert out.startswith("<!DOCTYPE html>")
    assert_safe(page)
    # Everything a reader must find, in order, and every link target of the brief.
    assert_in_order([page.visible], brief)
    assert_links_in_order([h for h in page.hrefs if not h.startswith("#")], brief)


def hostile_brief() -> Brief:
    day = dt.date(2026, 5, 31)
    evil = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    paper = PaperItem(
        paper_id="2605.29559",
        title=f"Title {evil}",
        links=PaperLinks(
            abs="https://arxiv.org/abs/2605.29559",
            pdf="https://arxiv.org/pdf/2605.29559",
            repo="javascript:alert(1)",
            project='https://example.org/a b"><script>',
        ),
        category="Agents <b>",
        contribution=f"Contribution {evil}",
        why="why\n\nsecond paragraph",
        relation="relation",
    )
    return Brief(
        date=day,
        language="en",
        reader="r",
        title=f"Brief {evil}",
        overview="overview",
        mode="extractive",
        generated_at=dt.datetime(2026, 5, 31, 8, tzinfo=dt.UTC),
        window_start=day,
        window_end=day,
        header=f"Retrieved 08:00 {evil}",
        sections=[
            Section(kind="top_picks", title="Top picks", items=[paper]),
            Section(
                kind="repos",
                title="Repos",
                items=[
                    RepoItem(url="data:text/html,<script>", full_name="evil/repo", stars=5),
                    RepoItem(
                        url="https://github.com/a/b",
                        full_name="a/b",
                        stars=1200,
                        stars_delta=120,
                        delta_days=1,
                        archived=True,
                        pushed_at=dt.datetime(2026, 5, 30, tzinfo=dt.UTC),
                    ),
                ],
            ),
            Section(
                kind="sources",
                title="Sources",
                items=[SourceItem(source="GitHub", status="failed", detail=f"HTTP 503 {evil}")],
            ),
        ],
    )


def test_every_text_is_escaped_and_only_web_links_are_links() -> None:
    out = render_html(hostile_brief())
    page = Page(out)
    assert_safe(page)
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "javascript:" not in " ".join(page.hrefs) and "data:" not in " ".join(page.hrefs)
    # Not a web address: shown as text, not as a link.
    assert "javascript:alert(1)" in page.visible and "data:text/html" in page.visible
    # A web address with a space and quotes in it stays one attribute.
    assert "https://example.org/a%20b%22%3E%3Cscript%3E" in page.hrefs
    assert "+120" in page.visible and "archived" in page.visible and "1,200" in page.visible


def test_self_contained_light_and_dark() -> None:
    out = render_html(built_brief())
    page = Page(out)
    assert_safe(page)
    head = out[: out.index("</head>")]
    assert "Content-Security-Policy" in head and "default-src 'none'" in head
    assert "prefers-color-scheme:dark" in out and 'name="color-scheme"' in out
    assert 'name="viewport"' in out
    # No resource from anywhere: no stylesheet, font, image or script to fetch.
    assert not re.search(r"@import|url\(|<link|<script|src=", out, re.IGNORECASE)
    assert page.count("style") == 1


def test_glance_list_is_a_real_table() -> None:
    brief = built_brief(papers=12)
    others = brief.section("others")
    assert others is not None
    n = sum(1 for i in others.items if isinstance(i, PaperItem))
    page = Page(render_html(brief))
    assert page.count("table", "glance") == 1
    assert page.count("th") == 4
    rows = [a for t, a in page.tags if t == "tr"]
    assert len(rows) == n + 1  # the header row, and one per paper
    assert page.count("td", "take") == n


def test_languages_and_the_paper_numbers() -> None:
    zh = built_brief(language="zh")
    out = render_html(zh)
    assert '<html lang="zh-CN">' in out
    assert '<html lang="en">' in render_html(built_brief())
    # Papers keep one number across the page: the number /paper N takes.
    numbers = re.findall(r'class="num"[^>]*>(\d+)<', out)
    ids = zh.paper_ids()
    assert numbers and int(max(numbers, key=int)) <= len(ids)


def test_a_chinese_page_names_the_interests_by_their_labels() -> None:
    """ "匹配兴趣" on a zh page: the profile's labels ("Agentic RL"), not its English
    phrases ("agentic reinforcement learning"); the must-read list refers to the picks."""
    import asyncio

    async def sample() -> Brief:
        store = await SQLiteStore.open(":memory:")
        try:
            settings = Settings(_env_file=None)  # type: ignore[call-arg]
            return await build_brief(
                settings, example_profile("zh"), SAMPLE_DATE, store=store, sample=True,
                use_llm=False, include_seen=True,
            )  # fmt: skip
        finally:
            await store.close()

    brief = asyncio.run(sample())
    out = render_html(brief)
    profile = example_profile("zh")
    lines = re.findall(r"匹配兴趣:</span>([^<]*)<", out)
    assert lines, "the page names matched interests"
    phrases = {p for p, shown in profile.labels.items() if shown != p}
    for line in lines:
        names = [n.strip() for n in html.unescape(line).split(",")]
        assert names and not set(names) & phrases, names
        assert all(n in profile.labels.values() for n in names), names
    reads = out.split('<ul class="reads">', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r"见上文第 (\d+) 篇", reads)  # pick numbers as references


def test_a_reply_renders_too() -> None:
    card = PaperItem(
        paper_id="2605.06614",
        title="SkillOS",
        links=PaperLinks(
            abs="https://arxiv.org/abs/2605.06614", pdf="https://arxiv.org/pdf/2605.06614"
        ),
        details=[Detail(label="Problem", text="p <x>"), Detail(label="Method", text="m")],
    )
    idea = IdeaItem(title="i", body="b", paper_ids=["2605.06614"])
    reply = Reply(
        language="en",
        title="SkillOS <card>",
        sections=[
            Section(kind="top_picks", title="", items=[card]),
            Section(kind="text", title="", items=[TextItem(text="a line")]),
            Section(kind="ideas", title="Ideas", items=[idea]),
        ],
    )
    out = render_html(reply)
    page = Page(out)
    assert_safe(page)
    assert "<title>SkillOS &lt;card&gt;</title>" in out
    assert "Problem" in page.visible and "p <x>" in page.visible and "a line" in page.visible


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://arxiv.org/abs/1", True),
        ("http://127.0.0.1:8080/x", True),
        (" https://x.org/a ", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,x", False),
        ("//evil.example/x", False),
        ("/relative", False),
        ("https://", False),
        ("https://x.org/\x00", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_href(url: str | None, ok: bool) -> None:
    assert (safe_href(url) is not None) is ok


# --- in a real browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        missing(
            f"needs Chromium at {CHROMIUM}: the HTML brief is checked in a real browser "
            "(apt-get install chromium fonts-wqy-microhei; `bash .ci/run` does it)"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def sample_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample brief in both languages, written by `paperdrop brief --format html`."""
    tmp = tmp_path_factory.mktemp("html")
    env: dict[str, str | None] = {
        "PAPERDROP_SQLITE_PATH": str(tmp / "s.sqlite3"),
        "PAPERDROP_REDIS_URL": "",
        "PAPERDROP_LLM_API_KEY": None,
        "OPENAI_API_KEY": None,
        "PAPERDROP_LANGUAGE": None,
        "PAPERDROP_PROFILE_PATH": None,
        # Nothing answers here: the sample must not touch the network.
        "PAPERDROP_HF_BASE_URL": "http://127.0.0.1:9",
        "PAPERDROP_GITHUB_API_URL": "http://127.0.0.1:9",
        "PAPERDROP_ARXIV_API_URL": "http://127.0.0.1:9",
    }
    pages = {}
    for lang in ("zh", "en"):
        path = tmp / f"sample-{lang}.html"
        args = ["brief", "--sample", "--lang", lang, "--format", "html", "-o", str(path)]
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
        pages[lang] = path
    return pages


def run_chromium(chromium: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        str(chromium),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: nothing can be fetched
        f"--user-data-dir={profile}",
        *args,
    ]
    env = {**os.environ, "HOME": str(tmp)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def console_lines(stderr: str) -> list[str]:
    """What the page said on the console: script errors, CSP violations, logs."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_loads_without_console_messages(
    chromium: Path, sample_pages: dict[str, Path], tmp_path: Path, lang: str
) -> None:
    page = sample_pages[lang]
    done = run_chromium(
        chromium, tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()
    )
    assert console_lines(done.stderr) == []
    dom = Page(done.stdout)
    assert dom.count("table", "glance") == 1 and dom.count("td", "take") >= 5
    assert dom.count("article", "paper") >= 5
    assert ("zh-CN" if lang == "zh" else "en") in done.stdout[:200]
    assert_safe(dom)


# Headless Chromium lays a page out at least 500 px wide whatever --window-size says, so
# the page is shown in an iframe of the width wanted: a phone's viewport is then exactly
# that (media queries included), and the page itself, its CSP and all, is unchanged.
FRAME = """<!DOCTYPE html><html><head><style>html,body{{margin:0}}
iframe{{border:0;display:block}}</style></head><body>
<iframe id="page" style="width:{w}px;height:{h}px" srcdoc="{page}"></iframe>{probe}
</body></html>"""

# Measures the laid-out page once it has loaded, and writes what it found into the
# wrapper's DOM for --dump-dom.
PROBE = """<script>window.addEventListener('load',function(){
var f=document.getElementById('page'),win=f.contentWindow,doc=f.contentDocument;
var w=win.innerWidth,de=doc.documentElement,out={};
out.viewport=w;out.scrollWidth=de.scrollWidth;
out.dark=win.matchMedia('(prefers-color-scheme: dark)').matches;
var m=doc.querySelector('main').getBoundingClientRect();out.main=[m.left,m.right];
var body=win.getComputedStyle(doc.body);
out.bg=body.backgroundColor;out.fg=body.color;out.fontSize=parseFloat(body.fontSize);
var t=doc.querySelector('table.glance');
out.thead=win.getComputedStyle(t.querySelector('thead')).position;
out.row=win.getComputedStyle(t.querySelector('tbody tr')).display;
out.overflow=[];
doc.querySelectorAll('main *').forEach(function(e){var r=e.getBoundingClientRect();
if(r.width>0&&(r.right>w+1||r.left<-1))out.overflow.push(e.tagName+'.'+e.className);});
out.cards=Array.prototype.map.call(doc.querySelectorAll('.card'),function(e){
var r=e.getBoundingClientRect();return [r.left,r.right];});
var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify(out);
document.body.appendChild(p);});</script>"""


def framed(page: Path, tmp: Path, size: tuple[int, int], probe: str = "") -> Path:
    text = page.read_text(encoding="utf-8")
    wrapper = FRAME.format(w=size[0], h=size[1], page=html.escape(text, quote=True), probe=probe)
    out = tmp / f"frame-{size[0]}-{'probe-' if probe else ''}{page.name}"
    out.write_text(wrapper, encoding="utf-8")
    return out


def probe(chromium: Path, page: Path, tmp: Path, size: tuple[int, int], *flags: str) -> dict:  # type: ignore[type-arg]
    """Lay the page out at `size` (CSS pixels) and measure it."""
    wrapper = framed(page, tmp, size, PROBE)
    window = f"--window-size={max(size[0], 500)},{size[1]}"
    done = run_chromium(chromium, tmp, window, *flags, "--dump-dom", wrapper.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, "the probe did not run"
    return json.loads(html.unescape(found.group(1)))  # type: ignore[no-any-return]


def luminance(css_color: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_layout_on_a_desk_and_a_phone(
    chromium: Path, sample_pages: dict[str, Path], tmp_path: Path, lang: str
) -> None:
    page = sample_pages[lang]
    desk = probe(chromium, page, tmp_path, DESKTOP)
    assert desk["viewport"] == DESKTOP[0] and desk["scrollWidth"] <= DESKTOP[0]
    assert desk["overflow"] == []
    left, right = desk["main"]
    assert right - left <= 52 * 16 + 1 and abs(left - (DESKTOP[0] - right)) <= 2  # centred
    assert desk["thead"] != "absolute" and desk["row"] == "table-row"
    assert not desk["dark"] and luminance(desk["bg"]) > 0.8 and luminance(desk["fg"]) < 0.3

    phone = probe(chromium, page, tmp_path, MOBILE)
    assert phone["viewport"] == MOBILE[0]
    assert phone["scrollWidth"] <= MOBILE[0], "the page scrolls sideways on a phone"
    assert phone["overflow"] == []
    assert phone["main"] == [0, MOBILE[0]]
    assert all(a >= 0 and b <= MOBILE[0] for a, b in phone["cards"])
    assert phone["row"] == "block" and phone["thead"] == "absolute"  # rows become blocks
    assert phone["fontSize"] >= 16

    dark = probe(chromium, page, tmp_path, DESKTOP, "--force-dark-mode")
    assert dark["dark"] and luminance(dark["bg"]) < 0.2 and luminance(dark["fg"]) > 0.7


# --- screenshots ----------------------------------------------------------------------------


def read_png(path: Path) -> np.ndarray:  # type: ignore[type-arg]
    """An 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) as an array."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = line + prev
        elif kind == 1:  # each byte adds the reconstructed byte bpp to its left
            row = line.reshape(width, bpp).cumsum(axis=0).reshape(-1)
        else:  # Average and Paeth depend on the byte to the left: plain ints are fastest
            cur, up = line.tolist(), prev.tolist()
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                b = up[x]
                if kind == 3:
                    cur[x] = (cur[x] + ((a + b) >> 1)) & 0xFF
                else:
                    c = up[x - bpp] if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    cur[x] = (
                        cur[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)
                    ) & 0xFF
            row = np.array(cur, dtype=np.int32)
        prev = (row & 0xFF).astype(np.uint8)
        out[y] = prev
    return out.reshape(height, width, bpp)[:, :, :3]


def content_box(image: np.ndarray) -> tuple[int, int, float]:  # type: ignore[type-arg]
    """Leftmost and rightmost column that differ from the page background, and the share
    of pixels that do."""
    background = image[2, 2].astype(np.int32)
    differs = np.abs(image.astype(np.int32) - background).sum(axis=2) > 24
    cols = np.flatnonzero(differs.any(axis=0))
    assert cols.size, "the screenshot is blank"
    return int(cols[0]), int(cols[-1]), float(differs.mean())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshots_look_like_a_page(
    chromium: Path, sample_pages: dict[str, Path], tmp_path: Path, lang: str
) -> None:
    shots = {}
    for name, (w, h) in (("desk", DESKTOP), ("phone", MOBILE)):
        shot = tmp_path / f"{lang}-{name}.png"
        # The screenshot is the window's top-left w × h: the framed page, at its width.
        wrapper = framed(sample_pages[lang], tmp_path, (w, h))
        run_chromium(
            chromium, tmp_path, f"--window-size={w},{h}", f"--screenshot={shot}",
            wrapper.as_uri(),
        )  # fmt: skip
        image = read_png(shot)
        assert image.shape[:2] == (h, w)
        shots[name] = image
        keep = os.environ.get("PAPERDROP_KEEP_SCREENSHOTS")
        if keep:  # for a person to look at
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
    desk, phone = shots["desk"], shots["phone"]
    assert desk[2, 2].mean() > 200, "a light page by default"
    left, right, inked = content_box(desk)
    # One centred column on a desk, with room either side.
    assert left > DESKTOP[0] * 0.15 and right < DESKTOP[0] * 0.85
    assert abs(left - (DESKTOP[0] - 1 - right)) < 40
    assert 0.02 < inked < 0.6, f"{inked:.1%} of the page is not background"
    left, right, inked = content_box(phone)
    # Edge to edge on a phone, with a small margin.
    assert 5 < left < 30 and MOBILE[0] - 30 < right < MOBILE[0] - 5
    assert 0.02 < inked < 0.7
    packed = desk.astype(np.uint32)
    colours = np.unique((packed[:, :, 0] << 16) | (packed[:, :, 1] << 8) | packed[:, :, 2])
    assert colours.size > 50  # text, not a flat fill
