"""Fetching papers from the network: Hugging Face daily papers and the arXiv API.

Every request has timeouts and is retried with backoff on connection errors, timeouts, 429 and
5xx answers (not when the host name does not resolve: that fails at once); what still fails becomes one `FetchError` line. The arXiv API asks for at most one
request every three seconds: `delay` (and the `sleep` function) are parameters so tests run fast.
Base URLs come from the parameter, else `PAPERREADER_HF_URL` / `PAPERREADER_ARXIV_URL`.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import httpx

from paperreader import __version__
from paperreader.core.errors import ImportFailure, PaperreaderError
from paperreader.core.importers import arxiv_atom, hf_api
from paperreader.core.models import Paper, normalise_arxiv_id

DEFAULT_HF_URL = "https://huggingface.co"  # + /api/daily_papers
DEFAULT_ARXIV_URL = "https://export.arxiv.org/api/query"
USER_AGENT = f"paperreader/{__version__} (terminal paper reader; python-httpx)"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
RETRIES = 3  # attempts after the first
BACKOFF = 2.0  # seconds before the first retry; doubled each time
ARXIV_DELAY = 3.0  # seconds between arXiv API requests
MAX_RETRY_AFTER = 60.0

Progress = Callable[[int, int | None], None]
Sleep = Callable[[float], None]


class FetchError(PaperreaderError):
    """A source that cannot be reached or answers with an error (one line for the user)."""


def hf_base_url(base_url: str | None = None) -> str:
    return (base_url or os.environ.get("PAPERREADER_HF_URL") or DEFAULT_HF_URL).rstrip("/")


def arxiv_base_url(base_url: str | None = None) -> str:
    return base_url or os.environ.get("PAPERREADER_ARXIV_URL") or DEFAULT_ARXIV_URL


def make_client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT}, follow_redirects=True)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None


def get(
    client: httpx.Client,
    url: str,
    params: dict[str, Any] | None = None,
    *,
    what: str,
    retries: int | None = None,
    backoff: float | None = None,
    sleep: Sleep | None = None,
) -> bytes:
    """The body of a 200 answer; retries transient failures, else raises FetchError."""
    retries = RETRIES if retries is None else max(0, retries)
    backoff = BACKOFF if backoff is None else backoff
    sleep = sleep or time.sleep
    host = httpx.URL(url).host or url
    problem = ""
    for attempt in range(retries + 1):
        wait = backoff * (2**attempt)
        try:
            response = client.get(url, params=params, headers={"User-Agent": USER_AGENT})
        except httpx.ConnectError as exc:
            if _name_unresolved(exc):  # no retry: a name that does not resolve stays so
                raise FetchError(
                    f"{what}: cannot find {host} ({_reason(exc)}); are you offline?"
                ) from None
            problem = f"cannot connect to {host} ({_reason(exc)}); are you offline?"
        except httpx.TimeoutException:
            problem = f"{host} did not answer in time"
        except httpx.TransportError as exc:
            problem = f"network error talking to {host} ({_reason(exc)})"
        except httpx.InvalidURL as exc:
            raise FetchError(f"{what}: bad URL {url!r} ({exc})") from None
        else:
            status = response.status_code
            if status == 200:
                return response.content
            if status == 429 or status >= 500:
                problem = f"{host} answered {status} {response.reason_phrase}".rstrip()
                wait = _retry_after(response) or wait
            else:
                raise FetchError(f"{what}: {host} answered {status} {response.reason_phrase}")
        if attempt < retries:
            sleep(wait)
    tries = f" (tried {retries + 1} times)" if retries else ""
    raise FetchError(f"{what}: {problem}{tries}")


_UNRESOLVED = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "getaddrinfo failed",
)


def _name_unresolved(exc: BaseException) -> bool:
    """True when a connection failed because the host name does not resolve (DNS), not
    because the host refused or dropped it: retrying then only makes the user wait."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            return True
        if any(text in str(cause).lower() for text in _UNRESOLVED):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _reason(exc: Exception) -> str:
    text = str(exc).strip().split("\n")[0]
    return text[:120] or type(exc).__name__


class _Client:
    """The caller's client, or a new one closed on exit."""

    def __init__(self, client: httpx.Client | None) -> None:
        self.given = client
        self.client = client

    def __enter__(self) -> httpx.Client:
        if self.client is None:
            self.client = make_client()
        return self.client

    def __exit__(self, *exc: object) -> None:
        if self.given is None and self.client is not None:
            self.client.close()


# -- Hugging Face ----------------------------------------------------------------------------
def fetch_hf_daily(
    day: date | None = None,
    *,
    base_url: str | None = None,
    client: httpx.Client | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    sleep: Sleep | None = None,
) -> list[Paper]:
    """The papers on Hugging Face's Daily Papers for `day` (the latest list when None)."""
    url = f"{hf_base_url(base_url)}/api/daily_papers"
    params = {"date": day.isoformat()} if day else None
    what = f"Hugging Face daily papers{' for ' + day.isoformat() if day else ''}"
    with _Client(client) as http:
        body = get(http, url, params, what=what, retries=retries, backoff=backoff, sleep=sleep)
    try:
        records = list(hf_api.parse(body, where=what))
    except ImportFailure as exc:
        raise FetchError(f"unexpected answer: {exc}") from None
    return _unique(r for r in records if isinstance(r, Paper))


# -- arXiv -----------------------------------------------------------------------------------
class _Pacer:
    """At most one request every `delay` seconds."""

    def __init__(self, delay: float | None, sleep: Sleep | None) -> None:
        self.delay = ARXIV_DELAY if delay is None else delay
        self.sleep = sleep or time.sleep
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None and self.delay > 0:
            remaining = self.delay - (time.monotonic() - self.last)
            if remaining > 0:
                self.sleep(remaining)
        self.last = time.monotonic()


def arxiv_search_query(query: str) -> str:
    """The query as given when it uses arXiv's fields (`ti:`, `au:`, `cat:`...), else every
    word searched in all fields: `diffusion models` -> `all:diffusion AND all:models`."""
    query = " ".join(query.split())
    if ":" in query or not query:
        return query
    return " AND ".join(f"all:{word}" for word in query.split())


def _arxiv_page(
    http: httpx.Client,
    url: str,
    params: dict[str, Any],
    what: str,
    pacer: _Pacer,
    retries: int | None,
    backoff: float | None,
    sleep: Sleep | None,
) -> arxiv_atom.FeedPage:
    pacer.wait()
    body = get(http, url, params, what=what, retries=retries, backoff=backoff, sleep=sleep)
    try:
        return arxiv_atom.parse_feed(body, where=what, allow_empty=True)
    except ImportFailure as exc:
        raise FetchError(str(exc)) from None


def fetch_arxiv_query(
    query: str,
    max_results: int = 50,
    *,
    base_url: str | None = None,
    page_size: int = 100,
    delay: float | None = None,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    sleep: Sleep | None = None,
) -> list[Paper]:
    """Up to `max_results` papers matching `query`, fetched a page at a time."""
    if max_results <= 0:
        return []
    page_size = max(1, min(page_size, 2000))
    url = arxiv_base_url(base_url)
    search = arxiv_search_query(query)
    if not search:
        raise FetchError("arXiv: the query is empty")
    pacer = _Pacer(delay, sleep)
    papers: dict[str, Paper] = {}
    start = 0
    limit = max_results  # lowered to the result's size once the first page tells it
    empty_pages = 0
    with _Client(client) as http:
        while start < limit:
            size = min(page_size, limit - start)
            params = {"search_query": search, "start": start, "max_results": size}
            what = f"arXiv query {query!r} (from {start})"
            page = _arxiv_page(http, url, params, what, pacer, retries, backoff, sleep)
            if page.total is not None:
                limit = min(max_results, page.total)
            if not page.records:
                # arXiv sometimes answers an empty page inside a result: ask again, then stop.
                empty_pages += 1
                if start < limit and empty_pages <= (RETRIES if retries is None else retries):
                    continue
                break
            empty_pages = 0
            for paper in page.papers:
                papers.setdefault(paper.id, paper)
            start += len(page.records)
            if progress:
                progress(min(start, limit), limit)
    return list(papers.values())[:max_results]


def fetch_arxiv_ids(
    ids: Iterable[str],
    *,
    base_url: str | None = None,
    page_size: int = 100,
    delay: float | None = None,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    sleep: Sleep | None = None,
) -> list[Paper]:
    """The papers with these arXiv ids (any version/URL form); ids arXiv does not know are
    left out (compare the result's `arxiv_id`s to find them)."""
    wanted: list[str] = []
    for raw in ids:
        found = normalise_arxiv_id(raw)
        if not found:
            raise FetchError(f"not an arXiv id: {raw!r}")
        if found not in wanted:
            wanted.append(found)
    if not wanted:
        return []
    page_size = max(1, min(page_size, 500))
    url = arxiv_base_url(base_url)
    pacer = _Pacer(delay, sleep)
    papers: dict[str, Paper] = {}
    with _Client(client) as http:
        for start in range(0, len(wanted), page_size):
            batch = wanted[start : start + page_size]
            params = {"id_list": ",".join(batch), "start": 0, "max_results": len(batch)}
            what = f"arXiv ids {batch[0]}{' ...' if len(batch) > 1 else ''}"
            page = _arxiv_page(http, url, params, what, pacer, retries, backoff, sleep)
            for paper in page.papers:
                papers.setdefault(paper.id, paper)
            if progress:
                progress(min(start + len(batch), len(wanted)), len(wanted))
    return list(papers.values())


def _unique(papers: Iterable[Paper]) -> list[Paper]:
    out: dict[str, Paper] = {}
    for paper in papers:
        out.setdefault(paper.id, paper)
    return list(out.values())
