"""PDF text extraction in a child process, with a time and a memory limit.

PDF parsing is CPU-bound and PDFs can be hostile (decompression bombs, reference loops,
pathological content streams). pypdf (BSD, pure Python) runs in a separate process:

    parent (event loop)                        child: python -m digest.fulltext.pdfproc
    create_subprocess_exec ── PDF on stdin ──► setrlimit(address space, CPU time)
    wait (deadline) ◄──── JSON page texts ──── pypdf: page.extract_text() per page
    past the deadline: kill, PdfTimeout

So a bad PDF costs one killed process, never a stalled `serve`; the paper then falls back
to its abstract with a log line. The parent builds the structure from the texts
(`digest.fulltext.pdftext`), which is cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import sys
from collections.abc import Awaitable, Callable

__all__ = ["MAX_PAGES", "PdfTimeout", "PdfUnreadable", "extract_pages"]

log = logging.getLogger(__name__)

MAX_PAGES = 150  # a paper with its appendices; a 2,000-page scan is not read in full
MAX_PAGE_CHARS = 20_000
MAX_OUTPUT = 8 * 1024 * 1024  # bytes of JSON the parent reads back

Deadline = Callable[[], Awaitable[None]]


class PdfUnreadable(Exception):
    """pypdf could not read it (malformed, encrypted, out of memory)."""


class PdfTimeout(Exception):
    """The child ran past its time limit and was killed."""


async def extract_pages(
    data: bytes,
    *,
    seconds: float,
    memory_mb: int,
    deadline: Deadline | None = None,
    started: asyncio.Event | None = None,
) -> list[str]:
    """The text of each page of `data`, from a child process killed after `seconds`
    (or when `deadline` returns: tests end it on an event, not a clock). `started` is set
    once the child runs. Raises PdfTimeout or PdfUnreadable."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "digest.fulltext.pdfproc",
        str(memory_mb),
        str(max(1, int(seconds) + 1)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    if started is not None:
        started.set()
    work = asyncio.ensure_future(proc.communicate(data))
    timer = asyncio.ensure_future(deadline() if deadline is not None else asyncio.sleep(seconds))
    try:
        done, _ = await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
        if work not in done:
            raise PdfTimeout(f"PDF parsing took over {seconds:g} s")
        out, err = work.result()
    finally:
        timer.cancel()
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            work.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.shield(proc.wait())
    if proc.returncode != 0:
        reason = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [
            f"exit {proc.returncode}"
        ]
        if proc.returncode in (-9, -24, 152):  # SIGKILL, SIGXCPU (the CPU limit)
            raise PdfTimeout(f"PDF parser stopped by its limits ({reason[0][:120]})")
        raise PdfUnreadable(reason[0][:200])
    if len(out) > MAX_OUTPUT:
        raise PdfUnreadable("too much text")
    try:
        pages = json.loads(out)
    except ValueError:
        raise PdfUnreadable("the parser answered no JSON") from None
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages):
        raise PdfUnreadable("the parser answered something else than page texts")
    return pages


def _child(memory_mb: int, cpu_seconds: int) -> int:
    import resource

    limit = memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    logging.disable(logging.CRITICAL)  # pypdf warns on every odd object: not our output
    data = sys.stdin.buffer.read()
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            print("encrypted PDF", file=sys.stderr)
            return 2
        pages = []
        for page in reader.pages[:MAX_PAGES]:
            pages.append((page.extract_text() or "")[:MAX_PAGE_CHARS])
    except MemoryError:
        print("out of memory", file=sys.stderr)
        return 3
    except Exception as exc:  # anything pypdf raises on a bad file
        print(f"{type(exc).__name__}: {str(exc)[:150]}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(pages, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover - run as the child process
    sys.exit(_child(int(sys.argv[1]), int(sys.argv[2])))
