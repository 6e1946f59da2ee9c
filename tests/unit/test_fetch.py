"""Fetching against a local HTTP server that replays recorded answers (never the internet)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from paperreader.cli.fetch import add_fetch_parser, run_fetch
from paperreader.core import fetch
from paperreader.core.fetch import FetchError
from paperreader.core.models import ImportReport, Paper
from replay_server import OWN, Server, closed_port, feed_slice, replay_server

FAST = {"retries": 2, "backoff": 0.0}


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults point at a closed local port, so a missed base URL can never go out."""
    monkeypatch.setattr(fetch, "BACKOFF", 0.0)  # the CLI uses the defaults
    monkeypatch.setattr(fetch, "ARXIV_DELAY", 0.0)
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("PAPERREADER_HF_URL", dead)
    monkeypatch.setenv("PAPERREADER_ARXIV_URL", dead + "/api/query")


@pytest.fixture
def server() -> Iterator[Server]:
    srv = replay_server()
    yield srv
    srv.close()


# -- Hugging Face ----------------------------------------------------------------------------
def test_hf_daily(server: Server) -> None:
    papers = fetch.fetch_hf_daily(date(2024, 10, 25), base_url=server.url, **FAST)
    assert [p.id for p in papers] == ["2410.17243", "2410.18057", "2410.20001"]
    assert papers[0].code_url == "https://github.com/DAMO-NLP-SG/Inf-CLIP"
    (request,) = server.requests
    assert request["path"] == "/api/daily_papers"
    assert request["query"] == {"date": "2024-10-25"}
    assert request["agent"].startswith("paperreader/")


def test_hf_daily_without_a_date_asks_for_the_latest(server: Server) -> None:
    fetch.fetch_hf_daily(base_url=server.url, **FAST)
    assert server.requests[0]["query"] == {}


def test_hf_base_url_from_the_environment(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERREADER_HF_URL", server.url + "/")
    assert len(fetch.fetch_hf_daily(**FAST)) == 3


def test_retry_after_a_503(server: Server) -> None:
    server.script["/api/daily_papers"] = [(503, b"busy")]
    waits: list[float] = []
    papers = fetch.fetch_hf_daily(
        None, base_url=server.url, retries=2, backoff=0.5, sleep=waits.append
    )
    assert len(papers) == 3
    assert len(server.requests) == 2
    assert waits == [0.5]


def test_backoff_doubles_then_gives_up(server: Server) -> None:
    server.script["/api/daily_papers"] = [(503, b"busy")] * 5
    waits: list[float] = []
    with pytest.raises(FetchError) as caught:
        fetch.fetch_hf_daily(None, base_url=server.url, retries=3, backoff=1.0, sleep=waits.append)
    assert waits == [1.0, 2.0, 4.0]
    assert len(server.requests) == 4
    message = str(caught.value)
    assert "503" in message and "tried 4 times" in message and "\n" not in message


def test_a_404_is_not_retried(server: Server) -> None:
    server.script["/api/daily_papers"] = [(404, b"nope")]
    with pytest.raises(FetchError, match="answered 404"):
        fetch.fetch_hf_daily(None, base_url=server.url, **FAST)
    assert len(server.requests) == 1


def test_a_garbled_answer_is_a_fetch_error(server: Server) -> None:
    server.script["/api/daily_papers"] = [(200, b"<html>maintenance</html>")]
    with pytest.raises(FetchError, match="not valid JSON"):
        fetch.fetch_hf_daily(None, base_url=server.url, **FAST)


def test_offline_is_one_clear_line() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(FetchError) as caught:
        fetch.fetch_hf_daily(None, base_url=url, **FAST)
    message = str(caught.value)
    assert "cannot connect to 127.0.0.1" in message and "offline" in message
    assert "\n" not in message
    with pytest.raises(FetchError, match="cannot connect"):
        fetch.fetch_arxiv_query("x", 5, base_url=url + "/api/query", delay=0, **FAST)


def test_a_host_that_does_not_resolve_fails_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """RFC 6761: .invalid never resolves. With the real retries and backoff (14 s of waiting
    before), the command fails within a second or two, in one line."""
    import time

    monkeypatch.setattr(fetch, "BACKOFF", 2.0)
    monkeypatch.setenv("PAPERREADER_ARXIV_URL", "http://nonexistent.invalid/api/query")
    started = time.monotonic()
    assert run_fetch(parse(["fetch", "arxiv-id", "2405.10001"]), FakeLibrary()) == 1
    assert time.monotonic() - started < 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and captured.out == ""
    assert "cannot find nonexistent.invalid" in lines[0] and "tried" not in lines[0]


def test_a_refused_connection_is_still_retried() -> None:
    waits: list[float] = []
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(FetchError, match=r"cannot connect.*\(tried 3 times\)"):
        fetch.fetch_hf_daily(None, base_url=url, retries=2, backoff=1.0, sleep=waits.append)
    assert waits == [1.0, 2.0]


def test_a_given_client_is_used_and_left_open(server: Server) -> None:
    with httpx.Client() as client:
        fetch.fetch_hf_daily(None, base_url=server.url, client=client, **FAST)
        assert not client.is_closed
    assert server.requests[0]["agent"].startswith("paperreader/")


# -- arXiv -----------------------------------------------------------------------------------
def test_arxiv_paging(server: Server) -> None:
    seen: list[tuple[int, int | None]] = []
    papers = fetch.fetch_arxiv_query(
        "diffusion models",
        10,
        base_url=server.url + "/api/query",
        page_size=2,
        delay=0,
        progress=lambda done, total: seen.append((done, total)),
        **FAST,
    )
    assert [p.id for p in papers] == [f"2405.1000{i}" for i in range(1, 6)]
    assert [(r["query"]["start"], r["query"]["max_results"]) for r in server.requests] == [
        ("0", "2"),
        ("2", "2"),
        ("4", "1"),
    ]
    assert server.requests[0]["query"]["search_query"] == "all:diffusion AND all:models"
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert papers[2].title == "A Note on Score Matching with Gröbner Bases"


def test_arxiv_stops_at_max_results(server: Server) -> None:
    papers = fetch.fetch_arxiv_query(
        "cat:cs.LG", 3, base_url=server.url + "/api/query", page_size=2, delay=0, **FAST
    )
    assert len(papers) == 3
    assert [r["query"]["max_results"] for r in server.requests] == ["2", "1"]
    assert server.requests[0]["query"]["search_query"] == "cat:cs.LG"  # fielded: as given


def test_arxiv_requests_are_paced(server: Server) -> None:
    waits: list[float] = []
    fetch.fetch_arxiv_query(
        "diffusion",
        5,
        base_url=server.url + "/api/query",
        page_size=2,
        delay=3.0,
        sleep=waits.append,
        **FAST,
    )
    assert len(server.requests) == 3
    assert len(waits) == 2 and all(2.5 < w <= 3.0 for w in waits)


def test_arxiv_empty_page_inside_a_result_is_asked_again(server: Server) -> None:
    server.script["/api/query"] = [
        (200, feed_slice(0, 2).encode()),
        (200, feed_slice(2, 0).encode()),
    ]
    papers = fetch.fetch_arxiv_query(
        "diffusion", 5, base_url=server.url + "/api/query", page_size=2, delay=0, **FAST
    )
    assert len(papers) == 5
    assert [r["query"]["start"] for r in server.requests] == ["0", "2", "2", "4"]


def test_arxiv_no_results_is_an_empty_list(server: Server) -> None:
    server.script["/api/query"] = [(200, (OWN / "arxiv_empty.xml").read_bytes())]
    assert fetch.fetch_arxiv_query("qwxzyv", 10, base_url=server.url + "/api/query", delay=0) == []
    assert len(server.requests) == 1


def test_arxiv_error_feed_is_a_fetch_error(server: Server) -> None:
    server.script["/api/query"] = [(200, (OWN / "arxiv_error.xml").read_bytes())]
    with pytest.raises(FetchError, match="arXiv API error: incorrect id format for 1234.12345"):
        fetch.fetch_arxiv_query("x", 10, base_url=server.url + "/api/query", delay=0, **FAST)


def test_arxiv_retry_after_a_503(server: Server) -> None:
    server.script["/api/query"] = [(503, b"busy")]
    papers = fetch.fetch_arxiv_query(
        "diffusion", 5, base_url=server.url + "/api/query", delay=0, **FAST
    )
    assert len(papers) == 5 and len(server.requests) == 2


def test_arxiv_ids(server: Server) -> None:
    papers = fetch.fetch_arxiv_ids(
        ["2405.10002v3", "https://arxiv.org/abs/2405.10004", "arXiv:2405.10002", "2405.10009"],
        base_url=server.url + "/api/query",
        delay=0,
        **FAST,
    )
    assert [p.id for p in papers] == ["2405.10002", "2405.10004"]
    (request,) = server.requests
    assert request["query"]["id_list"] == "2405.10002,2405.10004,2405.10009"
    assert request["query"]["max_results"] == "3"


def test_arxiv_ids_in_batches(server: Server) -> None:
    ids = [f"2405.1000{i}" for i in range(1, 6)]
    papers = fetch.fetch_arxiv_ids(ids, base_url=server.url + "/api/query", page_size=2, delay=0)
    assert [p.id for p in papers] == ids
    assert len(server.requests) == 3


def test_a_bad_arxiv_id_is_refused_before_any_request(server: Server) -> None:
    with pytest.raises(FetchError, match="not an arXiv id: 'hello'"):
        fetch.fetch_arxiv_ids(["2405.10001", "hello"], base_url=server.url + "/api/query")
    assert server.requests == []


# -- the command line ------------------------------------------------------------------------
class FakeLibrary:
    def __init__(self) -> None:
        self.added: list[Paper] = []

    def add_papers(self, records: Any, progress: Any = None) -> ImportReport:
        self.added.extend(records)
        return ImportReport(added=len(self.added))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="paperreader")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--library", default=argparse.SUPPRESS)
    add_fetch_parser(parser.add_subparsers(), common)
    return parser.parse_args(argv)


def test_cli_parser() -> None:
    args = parse(["fetch", "hf-daily", "--date", "2024-10-25"])
    assert args.fetch_source == "hf-daily" and args.date == date(2024, 10, 25)
    args = parse(["fetch", "arxiv", "diffusion models", "--max", "7", "--library", "/x"])
    assert (args.query, args.max, args.library) == ("diffusion models", 7, "/x")
    args = parse(["fetch", "arxiv-id", "2405.10001", "cs/0503050v1"])
    assert args.ids == ["2405.10001", "cs/0503050v1"]
    with pytest.raises(SystemExit):
        parse(["fetch", "hf-daily", "--date", "25/10/2024"])
    with pytest.raises(SystemExit):
        parse(["fetch", "arxiv", "x", "--max", "0"])


def test_cli_fetch_hf_daily(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAPERREADER_HF_URL", server.url)
    library = FakeLibrary()
    assert run_fetch(parse(["fetch", "hf-daily", "--date", "2024-10-25"]), library) == 0
    assert len(library.added) == 3
    assert capsys.readouterr().out.strip() == (
        "fetched 3: 3 added, 0 updated, 0 unchanged, 0 skipped"
    )


def test_cli_fetch_arxiv_ids_reports_missing_ones(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAPERREADER_ARXIV_URL", server.url + "/api/query")
    library = FakeLibrary()
    assert run_fetch(parse(["fetch", "arxiv-id", "2405.10001", "2405.10009"]), library) == 1
    assert [p.id for p in library.added] == ["2405.10001"]
    assert "paperreader: not found on arXiv: 2405.10009" in capsys.readouterr().err


def test_cli_fetch_error_is_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    library = FakeLibrary()  # the autouse fixture points every source at a closed port
    assert run_fetch(parse(["fetch", "arxiv", "diffusion", "--max", "2"]), library) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and library.added == []
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("paperreader: arXiv query")
    assert "cannot connect" in lines[0]


def test_cli_fetch_nothing_found(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAPERREADER_ARXIV_URL", server.url + "/api/query")
    server.script["/api/query"] = [(200, (OWN / "arxiv_empty.xml").read_bytes())]
    assert run_fetch(parse(["fetch", "arxiv", "qwxzyv"]), FakeLibrary()) == 1
    assert "arXiv has no papers matching 'qwxzyv'" in capsys.readouterr().err
