"""Fetching a paper's full text from arXiv: the LaTeXML HTML first, else the PDF.

Requests go through `paperreader.core.fetch` (its client, user agent, timeouts, retries and
error lines). The base URL comes from the parameter, else `PAPERREADER_ARXIV_FILES_URL`, else
https://arxiv.org; `<base>/html/<id>` and `<base>/pdf/<id>` are asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from paperreader.core import fetch
from paperreader.core.errors import FullTextError
from paperreader.core.fetch import FetchError, Sleep
from paperreader.core.fulltext import files
from paperreader.core.fulltext.document import Document
from paperreader.core.models import Paper, normalise_arxiv_id

DEFAULT_FILES_URL = "https://arxiv.org"


def files_base_url(base_url: str | None = None) -> str:
    return (base_url or os.environ.get("PAPERREADER_ARXIV_FILES_URL") or DEFAULT_FILES_URL).rstrip(
        "/"
    )


def fetch_text(
    root: Path,
    paper: Paper,
    client: httpx.Client | None = None,
    progress: files.Progress | None = None,
    *,
    base_url: str | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    sleep: Sleep | None = None,
) -> Document:
    """Download the paper's text from arXiv, store it with `files.attach_bytes`, return it.

    The HTML page is tried first; when arXiv has none (an HTTP error answer, or a page without
    LaTeXML text) the PDF is fetched. Raises FullTextError or FetchError (one line each);
    nothing is stored unless a text was extracted."""
    arxiv_id = normalise_arxiv_id(paper.arxiv_id or "")
    if not arxiv_id:
        raise FullTextError(f"{paper.id}: no arXiv id, so no text to fetch (attach a PDF instead)")
    base = files_base_url(base_url)
    http = client or fetch.make_client()
    options = {"retries": retries, "backoff": backoff, "sleep": sleep}
    try:
        html_problem = ""
        try:
            body = fetch.get(
                http, f"{base}/html/{arxiv_id}", what=f"arXiv HTML of {arxiv_id}", **options
            )
        except FetchError as exc:
            if " answered " not in str(exc):
                raise  # offline or timed out: the PDF would fail the same way
            html_problem = str(exc)
        else:
            try:
                return files.attach_bytes(
                    root, paper.id, body, f"arXiv HTML of {arxiv_id}", progress
                )
            except FullTextError as exc:
                html_problem = str(exc)  # not a LaTeXML page: try the PDF
        try:
            body = fetch.get(
                http, f"{base}/pdf/{arxiv_id}", what=f"arXiv PDF of {arxiv_id}", **options
            )
        except FetchError as exc:
            if html_problem and " answered 404" in str(exc):
                raise FetchError(
                    f"arXiv has neither HTML nor a PDF for {arxiv_id} ({exc})"
                ) from None
            raise
        return files.attach_bytes(root, paper.id, body, f"arXiv PDF of {arxiv_id}", progress)
    finally:
        if client is None:
            http.close()
