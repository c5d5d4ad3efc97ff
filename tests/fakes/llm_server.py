"""A local OpenAI-compatible server for tests, the end-to-end test and benchmarks.

    async with FakeLLMServer(api_key="sk-test") as srv:
        settings = Settings(llm_base_url=srv.base_url, llm_api_key="sk-test")

It serves `POST /v1/chat/completions` and `POST /v1/embeddings`, checks the bearer key,
and answers by the marker line that starts the system prompt:

- ``TASK: rerank``        -> ``{"papers": [{"id", "score", "matched"}]}`` (digest/ranking.py)
- ``TASK: summarize``     -> ``{"contribution", "why", "category"}`` (digest/summarize.py)
- ``TASK: reader_notes``  -> the notes answer (digest/readernotes.py): overview, conclusion,
  relations / must_read / comments as ``[{"id", "text"}]`` (comments on the "others",
  given as ``"<id>: <gist>"``), ideas and groups citing ids (the fake groups picks sharing
  their first matched interest)
- ``TASK: paper_details`` -> ``{"problem", "method", "results", "limits", "code_data"}``
  and the summary fields (digest/deeper.py): from the full text's "excerpts" when given
  (the method with its setup's numbers, results from results sections and tables,
  limits from a Limitations excerpt, code and data from a release sentence), else the
  abstract; "results" adds one invented figure ("99.9%") so tests can check that the
  code drops unsupported numbers. The fake is gullible on purpose: an excerpt saying
  "ignore previous instructions" is obeyed (copied into "problem"), so tests can show
  what the code still guarantees when a model falls for a paper's injected text
- ``TASK: ideas``         -> three ideas citing the given ids, plus one citing an id that was
  not given (``9999.00001``), which the code must drop
- ``TASK: ask``           -> ``{"answer", "answered", "used"}``: from "passages" when given
  (the passage sharing most words with the question, its id in "used"; "answered":
  false when none shares a word; gullible about injected instructions, as above), else
  the abstract sentence sharing most words, or "The abstract does not say."
- ``TASK: echo``          -> the user message's JSON object, returned as the answer

Answers are built from the ids and titles in the user prompt, at a realistic length.
Tokens are ``len(text) // 4`` (at least 1), as reported in ``usage``. Embeddings are
hashed bag-of-words vectors (deterministic; texts sharing words are similar).

``response_format`` is honoured like a real server: ``json_object`` as is; ``json_schema``
is checked against strict mode's rules (every object closed and all its properties
required, no unsupported keywords: HTTP 400 "Invalid schema for response_format" otherwise),
the answer keeps exactly the schema's fields, and the schema counts as prompt tokens
(`schema_tokens`: billed as input, rendered TypeScript-like, ``{id:string,ids:string[]}``,
the way models read it). `refuse_json_schema=True` makes it an endpoint without structured
output: every ``json_schema`` request gets OpenAI's HTTP 400 ("Invalid parameter:
'response_format' of type 'json_schema' is not supported with this model", param
``response_format``), counted in `refused`.

A ``TASK: summarize`` request with ``"languages": ["en", "zh"]`` gets one summary per
language: ``{"category", "en": {"contribution", "why"}, "zh": {...}}``.

`fail_next(kind, count)` makes the next `count` chat requests fail: "malformed" (200 with
broken JSON), "invalid" (200 with JSON missing every field), "500", "429", "401" or
"context_length" (OpenAI's HTTP 400 ``context_length_exceeded``, param ``messages``); or
answer oddly: "fenced" (the right answer inside a Markdown code fence). `context_limit`
(tokens, None by default) refuses every longer request the same way, as a model would.
`gate` (an asyncio.Event, None by default) holds every chat answer until it is set;
`in_flight`/`max_in_flight` and `wait_in_flight(n)` observe concurrency without timing.
5xx/429 answers carry ``retry-after-ms: 1`` so the SDK's own retry does not sleep long.
`latency` delays each answer with a real asyncio sleep (benchmarks only; 0 in tests).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections import deque
from typing import Any, Literal

from aiohttp import web

__all__ = ["FailKind", "FakeLLMServer", "schema_tokens", "strict_problem", "tokens"]

FailKind = Literal["malformed", "invalid", "fenced", "500", "429", "401", "context_length"]
EMBED_DIM = 256
_WORD = re.compile(r"[a-z0-9]+")
_ID = re.compile(r"\b(\d{4}\.\d{4,5})(?:v\d+)?\b")
_STOP = frozenset({"a", "an", "and", "the", "of", "for", "to", "in", "on", "with", "by"})


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


def schema_tokens(response_format: dict[str, Any]) -> int:
    """What a json_schema response_format adds to a request's prompt tokens (0 for others)."""
    spec = response_format.get("json_schema")
    if response_format.get("type") != "json_schema" or not isinstance(spec, dict):
        return 0
    schema = spec.get("schema") if isinstance(spec.get("schema"), dict) else {}
    return tokens(_render(schema, schema))


class FakeLLMServer:
    def __init__(
        self,
        *,
        api_key: str = "sk-test-key",
        latency: float = 0.0,
        refuse_json_schema: bool = False,
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.refuse_json_schema = refuse_json_schema
        self.refused = 0  # json_schema requests refused
        self.calls: list[tuple[str, int, int, float, float]] = []
        self.requests: list[dict[str, Any]] = []  # the JSON bodies received, in order
        self._fail: deque[FailKind] = deque()
        self.context_limit: int | None = None
        self.gate: asyncio.Event | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        # Given a port, the URL is known before the server starts (an LLM down, then up).
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1" if port else ""

    def fail_next(self, kind: FailKind, count: int = 1) -> None:
        self._fail.extend([kind] * count)

    def clear_failures(self) -> None:
        """Forget the failures still queued (the next answers are good ones)."""
        self._fail.clear()

    async def wait_in_flight(self, n: int) -> None:
        """Return once at least `n` chat requests are being answered at the same time."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight >= n)

    def calls_for(self, task: str) -> list[tuple[str, int, int, float, float]]:
        return [c for c in self.calls if c[0] == task]

    async def __aenter__(self) -> FakeLLMServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- handlers ----------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    async def _chat(self, request: web.Request) -> web.Response:
        async with self._changed:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._changed.notify_all()
        try:
            body = await request.json()  # read first: a held client may give up meanwhile
            if self.gate is not None:
                await self.gate.wait()
            return await self._answer_chat(request, body)
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    async def _answer_chat(self, request: web.Request, body: Any) -> web.Response:
        start = time.monotonic()
        self.requests.append(body)
        messages = body.get("messages") or []
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        users = [m["content"] for m in messages if m.get("role") == "user"]
        first_line = system.split("\n", 1)[0].strip()
        task = first_line.removeprefix("TASK:").strip() if first_line.startswith("TASK:") else ""
        prompt_tokens = tokens("".join(str(m.get("content", "")) for m in messages))
        fmt = body.get("response_format") or {}
        spec = fmt.get("json_schema") if fmt.get("type") == "json_schema" else None
        schema: dict[str, Any] | None = None
        if isinstance(spec, dict):
            schema = spec.get("schema") if isinstance(spec.get("schema"), dict) else {}
            prompt_tokens += schema_tokens(fmt)

        if not self._authorized(request):
            self.calls.append((task, prompt_tokens, 0, start, time.monotonic()))
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        if spec is not None:
            problem = None
            if self.refuse_json_schema:
                self.refused += 1
                problem = (
                    "Invalid parameter: 'response_format' of type 'json_schema' is not "
                    "supported with this model."
                )
            elif not isinstance(spec, dict) or not spec.get("name") or schema is None:
                problem = "Missing required parameter: 'response_format.json_schema.name'."
            elif spec.get("strict") and (why := strict_problem(schema, schema)):
                problem = f"Invalid schema for response_format '{spec.get('name')}': {why}"
            if problem is not None:
                self.calls.append((task, prompt_tokens, 0, start, time.monotonic()))
                return _error(400, problem, "invalid_request_error", param="response_format")
        kind = self._fail.popleft() if self._fail else None
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if kind in ("500", "429", "401"):
            self.calls.append((task, prompt_tokens, 0, start, time.monotonic()))
            status = int(kind)
            return _error(status, f"fake failure {status}", "fake", retry=status != 401)
        limit = self.context_limit
        if kind == "context_length" or (limit is not None and prompt_tokens > limit):
            self.calls.append((task, prompt_tokens, 0, start, time.monotonic()))
            shown = limit if limit is not None else 8192
            return _error(
                400,
                f"This model's maximum context length is {shown} tokens. However, your "
                f"messages resulted in {prompt_tokens} tokens. Please reduce the length of "
                "the messages.",
                "context_length_exceeded",
                param="messages",
            )

        if kind == "malformed":
            content = '{"contribution": "cut off'
        elif kind == "invalid":
            content = json.dumps({"unexpected": True})
        else:
            try:
                answer = _answer(task, users[0] if users else "", system)
                if schema is not None and isinstance(schema.get("properties"), dict):
                    # Constrained decoding: exactly the schema's fields.
                    answer = _fit(answer, schema, schema)
                else:
                    # Like a real model, answer only the fields the instructions ask for.
                    answer = {k: v for k, v in answer.items() if f'"{k}"' in system} or answer
            except ValueError as exc:
                self.calls.append((task, prompt_tokens, 0, start, time.monotonic()))
                return _error(400, str(exc), "invalid_request")
            content = json.dumps(answer, ensure_ascii=False)
            if kind == "fenced":
                content = f"```json\n{content}\n```"
        completion_tokens = tokens(content)
        self.calls.append((task, prompt_tokens, completion_tokens, start, time.monotonic()))
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.calls)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def _embeddings(self, request: web.Request) -> web.Response:
        start = time.monotonic()
        body = await request.json()
        self.requests.append(body)
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else list(raw or [])
        prompt_tokens = sum(tokens(str(t)) for t in texts) if texts else 1
        if not self._authorized(request):
            self.calls.append(("embed", prompt_tokens, 0, start, time.monotonic()))
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        data = [
            {"object": "embedding", "index": i, "embedding": _embed(str(t))}
            for i, t in enumerate(texts)
        ]
        self.calls.append(("embed", prompt_tokens, 0, start, time.monotonic()))
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "fake-embed"),
                "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
            }
        )


def _error(
    status: int, message: str, code: str, *, retry: bool = False, param: str | None = None
) -> web.Response:
    headers = {"retry-after-ms": "1"} if retry else {}
    return web.json_response(
        {"error": {"message": message, "type": "fake_error", "param": param, "code": code}},
        status=status,
        headers=headers,
    )


# What strict mode does not accept (OpenAI's structured-outputs rules).
_UNSUPPORTED = frozenset(
    {
        "minLength",
        "maxLength",
        "patternProperties",
        "unevaluatedProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "unevaluatedItems",
        "contains",
        "minContains",
        "maxContains",
        "uniqueItems",
        "default",
    }
)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = (root.get("$defs") or {}).get(ref.removeprefix("#/$defs/"))
        return target if isinstance(target, dict) else {}
    return node


def strict_problem(node: Any, root: dict[str, Any], path: str = "()") -> str | None:
    if not isinstance(node, dict):
        return None
    for key in node:
        if key in _UNSUPPORTED:
            return f"In context={path}, '{key}' is not permitted."
    props = node.get("properties")
    if node.get("type") == "object" or isinstance(props, dict):
        if node.get("additionalProperties") is not False:
            return (
                f"In context={path}, 'additionalProperties' is required to be supplied "
                "and to be false."
            )
        missing = [k for k in props or {} if k not in (node.get("required") or [])]
        if missing:
            return (
                f"In context={path}, 'required' is required to be supplied and to be an array "
                f"including every key in properties. Missing '{missing[0]}'."
            )
    children: list[tuple[str, Any]] = []
    for key in ("properties", "$defs"):
        children += [(f"{path}.{key}.{k}", v) for k, v in (node.get(key) or {}).items()]
    if "items" in node:
        children.append((f"{path}.items", node["items"]))
    children += [(f"{path}.anyOf.{n}", v) for n, v in enumerate(node.get("anyOf") or [])]
    for where, child in children:
        if problem := strict_problem(child, root, where):
            return problem
    return None


def _render(node: Any, root: dict[str, Any]) -> str:
    """The schema as the model reads it, TypeScript-like (``{id:string,ids:string[]}``):
    what a schema adds to the prompt, counted as prompt tokens."""
    if not isinstance(node, dict):
        return "any"
    node = _resolve(node, root)
    if isinstance(node.get("properties"), dict):
        fields = ",".join(f"{k}:{_render(v, root)}" for k, v in node["properties"].items())
        return "{" + fields + "}"
    if node.get("type") == "array":
        return _render(node.get("items"), root) + "[]"
    if "anyOf" in node:
        return "|".join(_render(v, root) for v in node["anyOf"])
    if "enum" in node:
        return "|".join(json.dumps(v) for v in node["enum"])
    return str(node.get("type") or "any")


def _fit(value: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    """`value` shaped to the schema the way constrained decoding would: the schema's object
    fields only (missing ones empty), lists item by item."""
    node = _resolve(node, root)
    kind = node.get("type")
    if kind == "object" or isinstance(node.get("properties"), dict):
        given = value if isinstance(value, dict) else {}
        props = node.get("properties") or {}
        return {k: _fit(given.get(k), sub, root) for k, sub in props.items()}
    if kind == "array":
        items = node.get("items") or {}
        return [_fit(v, items, root) for v in value] if isinstance(value, list) else []
    if kind == "string":
        return value if isinstance(value, str) else ""
    if kind in ("number", "integer"):
        return value if isinstance(value, int | float) and not isinstance(value, bool) else 0
    if kind == "boolean":
        return bool(value)
    return value


# --- answers ---------------------------------------------------------------------------


def _answer(task: str, user: str, system: str = "") -> dict[str, Any]:
    if task == "rerank":
        return _rerank(user)
    if task == "summarize":
        return _summarize(_json(user))
    if task == "reader_notes":
        return _notes(_json(user), system)
    if task == "paper_details":
        return _details(_json(user))
    if task == "ideas":
        return _ideas(_json(user))
    if task == "ask":
        return _ask(_json(user))
    if task == "echo":
        return _json(user)
    raise ValueError(f"unknown task {task!r}")


def _sentences(text: str) -> list[str]:
    return [x for x in re.split(r"(?<=[.!?])\s+", text.strip()) if x]


_INJECTION = re.compile(r"ignore (?:all )?previous instructions", re.IGNORECASE)


def _first_sentence(text: str) -> str:
    return (_sentences(text) or [text])[0]


def _details(req: dict[str, Any]) -> dict[str, Any]:
    paper = req.get("paper") or {}
    zh = req.get("language") == "zh"
    excerpts = [e for e in paper.get("excerpts") or [] if isinstance(e, dict)]
    if excerpts:
        return {**_details_full(excerpts, zh), **_summarize(req)}
    sentences = _sentences(str(paper.get("abstract") or "")) or [str(paper.get("title"))]
    numbered = [x for x in sentences if re.search(r"\d", x)]
    return {
        "problem": ("问题:" if zh else "") + sentences[0],
        "method": sentences[1] if len(sentences) > 1 else sentences[0],
        # The invented sentence must be dropped by the code (no such number in the abstract).
        "results": " ".join(numbered[:2]) + " It reaches 99.9% on every benchmark.",
        "limits": "摘要没有讨论局限性。" if zh else "The abstract does not discuss limitations.",
        "code_data": "The abstract does not say.",
        **_summarize(req),
    }


def _details_full(excerpts: list[dict[str, Any]], zh: bool) -> dict[str, Any]:
    def where(pattern: str) -> list[str]:
        return [
            str(e.get("text") or "")
            for e in excerpts
            if re.search(pattern, str(e.get("where") or ""), re.IGNORECASE)
        ]

    intro = where("introduction") or [str(excerpts[0].get("text") or "")]
    method = where("method|approach|pool|model") or intro
    setup = [x for t in where("setup|training|data|detail") for x in _sentences(t)]
    results = [
        x for t in where("result|experiment|table") for x in _sentences(t) if re.search(r"\d", x)
    ]
    limits = where("limitation")
    release = [
        x
        for e in excerpts
        for x in _sentences(str(e.get("text") or ""))
        if re.search(r"github|release|available", x, re.IGNORECASE)
    ]
    injected = [str(e.get("text")) for e in excerpts if _INJECTION.search(str(e.get("text")))]
    problem = injected[0] if injected else _first_sentence(intro[0])
    return {
        "problem": ("问题:" if zh else "") + problem,
        "method": " ".join(
            [_first_sentence(method[0]), *[x for x in setup if re.search(r"\d", x)][:1]]
        ),
        "results": " ".join(results[:2]) + " It reaches 99.9% on every benchmark.",
        "limits": _first_sentence(limits[0])
        if limits
        else "The paper does not discuss limitations.",
        "code_data": release[0] if release else "The paper does not say.",
    }


def _ideas(req: dict[str, Any]) -> dict[str, Any]:
    papers = [p for p in req.get("papers") or [] if isinstance(p, dict)]
    topic = str(req.get("topic") or "")
    out = []
    for n in range(min(3, len(papers))):
        a, b = papers[n], papers[(n + 1) % len(papers)]
        out.append(
            {
                "title": f"Idea {n + 1}: {str(a.get('title'))[:40]}"
                + (f" for {topic}" if topic else ""),
                "body": f"Combine {a.get('title')} with {b.get('title')}.",
                "first_experiment": f"Reproduce the main table of {a.get('id')} first.",
                "paper_ids": list(dict.fromkeys([str(a.get("id")), str(b.get("id"))])),
            }
        )
    out.append({"title": "Ungrounded", "body": "Cites nothing given.", "paper_ids": ["9999.00001"]})
    return {"ideas": out}


def _ask(req: dict[str, Any]) -> dict[str, Any]:
    paper = req.get("paper") or {}
    asked = _words(str(req.get("question") or ""))
    passages = [p for p in req.get("passages") or [] if isinstance(p, dict)]
    if passages:
        best = max(passages, key=lambda p: len(asked & _words(str(p.get("text")))))
        text = str(best.get("text") or "")
        if not asked & _words(text):
            return {"answer": "The passages are about other things.", "answered": False, "used": []}
        if _INJECTION.search(text):
            return {"answer": text, "answered": True, "used": [best.get("id")]}
        sentence = max(_sentences(text) or [text], key=lambda x: len(asked & _words(x)))
        return {
            "answer": f"According to {best.get('where')}: {sentence}",
            "answered": True,
            "used": [str(best.get("id"))],
        }
    best_sentence = max(
        _sentences(str(paper.get("abstract") or "")),
        key=lambda x: len(asked & _words(x)),
        default="",
    )
    if not best_sentence or not asked & _words(best_sentence):
        return {"answer": "The abstract does not say.", "answered": False, "used": []}
    return {"answer": f"According to the abstract: {best_sentence}", "answered": True, "used": []}


def _json(user: str) -> dict[str, Any]:
    try:
        value = json.loads(user)
    except json.JSONDecodeError as exc:
        raise ValueError(f"user prompt is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("user prompt is not a JSON object")
    return value


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def _rerank(user: str) -> dict[str, Any]:
    # digest/ranking.py: "Interests: [1] a; [2] b" then "Papers:" and "<id> | <title> | ..."
    interests: list[set[str]] = []
    papers: list[tuple[str, str]] = []
    in_papers = False
    for line in user.splitlines():
        if line.startswith("Interests:"):
            for part in line.removeprefix("Interests:").split(";"):
                interests.append(_words(re.sub(r"^\s*\[\d+\]", "", part)))
        elif line.startswith("Papers:"):
            in_papers = True
        elif in_papers and "|" in line:
            pid, _, rest = line.partition("|")
            m = _ID.search(pid)
            if m:
                papers.append((m.group(1), rest))
    if not papers:  # any other prompt shape: every id mentioned, neutral scores
        papers = [(pid, "") for pid in dict.fromkeys(_ID.findall(user))]
    out = []
    for pid, text in papers:
        words = _words(text)
        overlaps = [len(words & i) / max(1, len(i)) for i in interests]
        matched = [n for n, o in enumerate(overlaps, 1) if o >= 0.34]
        best = max(overlaps, default=0.0)
        out.append({"id": pid, "score": round(min(10.0, 2.0 + 8.0 * best), 1), "matched": matched})
    return {"papers": out}


def _summarize(req: dict[str, Any]) -> dict[str, Any]:
    languages = req.get("languages")
    if isinstance(languages, list) and languages:
        out: dict[str, Any] = {}
        for lang in languages:
            one = _summarize({**req, "language": lang, "languages": None})
            out["category"] = one.pop("category")
            out[str(lang)] = one
        return out
    paper = req.get("paper") or {}
    title = str(paper.get("title") or "this paper")
    abstract = str(paper.get("abstract") or "")
    first = re.split(r"(?<=[.!?])\s+", abstract, maxsplit=1)[0] if abstract else title
    name = title.split(":")[0].strip()
    category = str(paper.get("arxiv_category") or "AI")
    label = {"cs.CL": "NLP / LLM", "cs.LG": "Machine Learning", "cs.AI": "AI / Agents"}.get(
        category, "AI Research"
    )
    if req.get("language") == "zh":
        return {
            "contribution": f"提出 {name},核心思路是:{first[:160]}",
            "why": (
                f"{name} 针对的问题在当前 LLM 研究中很常见,作者给出了可复现的方法与评测。"
                f"它把「{title[:80]}」落到具体的训练与评估流程上,便于对比已有工作。"
                "如果结论成立,这套做法可以直接迁移到相近任务,值得关注其实验设置与消融。"
            ),
            "category": label,
        }
    return {
        "contribution": f"Introduces {name}: {first[:200]}",
        "why": (
            f"{name} addresses a problem many current LLM systems share, with a concrete "
            "method and an evaluation others can reproduce. It turns the idea in "
            f'"{title[:80]}" into a training and evaluation recipe that can be compared '
            "with prior work. If the results hold, the recipe transfers to nearby tasks."
        ),
        "category": label,
    }


def _notes(req: dict[str, Any], system: str = "") -> dict[str, Any]:
    zh = req.get("language") == "zh" or "Simplified Chinese" in system
    interests = [str(i) for i in req.get("interests") or []]
    picks = [p for p in req.get("picks") or [] if isinstance(p, dict)]
    others = []
    for p in req.get("others") or []:
        if isinstance(p, str):  # "<id>: <gist>"
            pid, _, gist = p.partition(": ")
            p = {"id": pid, "gist": gist}
        if isinstance(p, dict):
            others.append(p)
    focus = interests[0] if interests else ("your research" if not zh else "你的研究")

    def short(p: dict[str, Any]) -> str:
        return str(p.get("title") or p.get("id")).split(":")[0].strip()

    def gist(p: dict[str, Any]) -> str:
        # The first words of what the prompt said about the paper: answers stay grounded.
        text = str(p.get("abstract") or p.get("gist") or p.get("contribution") or "")
        return " ".join(text.split()[:6]).rstrip(".,;:")

    def matched_of(p: dict[str, Any]) -> list[str]:
        # Interest numbers (1 = first) or the interests themselves.
        out = []
        for m in p.get("matched") or []:
            if isinstance(m, int) and 1 <= m <= len(interests):
                out.append(interests[m - 1])
            elif isinstance(m, str):
                out.append(m)
        return out

    names = ", ".join(short(p) for p in picks[:3])
    relations = []
    for p in picks:
        matched = ", ".join(matched_of(p)) or focus
        relations.append(
            {
                "id": str(p["id"]),
                "text": (
                    f"与你关注的 {matched} 直接相关:{short(p)} 提供了可借鉴的训练与评测设置。"
                    if zh
                    else f"Relevant to your work on {matched}: {short(p)} offers a setup you "
                    "could reuse or compare against."
                ),
            }
        )
    must = [
        {
            "id": str(p["id"]),
            "text": (
                f"最贴近你的 {focus} 方向,建议细读方法与实验部分。"
                if zh
                else f"Closest to your {focus} work; read the method and experiments."
            ),
        }
        for p in picks[:3]
    ]
    # Picks matching the same first interest answer the same question here.
    by_interest: dict[str, list[str]] = {}
    for p in picks:
        if found := matched_of(p):
            by_interest.setdefault(found[0], []).append(str(p["id"]))
    groups = [
        {
            "title": (f"{topic} 方向的 {len(ids)} 篇" if zh else f"{len(ids)} papers on {topic}"),
            "ids": ids,
        }
        for topic, ids in by_interest.items()
        if len(ids) >= 2
    ][:1]
    ideas = []
    for n in range(min(3, len(picks))):
        a = picks[n]
        b = picks[(n + 1) % len(picks)]
        ids = list(dict.fromkeys([str(a["id"]), str(b["id"])]))
        ideas.append(
            {
                "title": (
                    f"把 {short(a)} 与 {short(b)} 结合"
                    if zh
                    else f"Combine {short(a)} with {short(b)}"
                ),
                "body": (
                    f"以 {short(a)} 的设置为基础,引入 {short(b)} 的思路,"
                    f"在 {focus} 场景下检验是否带来稳定收益,并做消融区分两者贡献。"
                    if zh
                    else f"Start from the setup of {short(a)}, add the idea behind "
                    f"{short(b)}, and test on {focus} whether the gain holds; ablate "
                    "to separate the two contributions."
                ),
                "ids": ids,
            }
        )
    repo_notes = [
        {
            "id": str(p["id"]),
            "text": (
                "关注训练脚本、数据格式与评测代码。"
                if zh
                else "Watch the training scripts, data format and evaluation code."
            ),
        }
        for p in picks
        if p.get("repo")
    ]
    comments = [
        {
            "id": str(p["id"]),
            "text": (
                f"{gist(p) or short(p)}:与 {focus} 间接相关,可扫一眼。"[:30]
                if zh
                else f"{gist(p) or short(p)}: a skim for your {focus} work."[:60]
            ),
        }
        for p in others
    ]
    return {
        "overview": (
            f"今天 {len(picks)} 篇重点论文集中在 {focus} 等方向。最值得先看的是 {names}。"
            if zh
            else f"Today's {len(picks)} top picks centre on {focus}. Start with {names}; "
            f"{len(others)} more papers are worth a glance."
        ),
        "relations": relations,
        "must_read": must,
        "groups": groups,
        "ideas": ideas,
        "conclusion": (
            f"优先精读 {names},其余论文按需浏览。"
            if zh
            else f"Read {names} closely; skim the rest as time allows."
        ),
        "repo_notes": repo_notes,
        "comments": comments,
    }


def _embed(text: str) -> list[float]:
    vec = [0.0] * EMBED_DIM
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "big") % EMBED_DIM
        sign = 1.0 if digest[4] & 1 else -1.0
        vec[slot] += sign
    norm = math.sqrt(sum(x * x for x in vec))
    return [x / norm for x in vec] if norm > 0 else vec
