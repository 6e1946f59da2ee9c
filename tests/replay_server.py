"""A local HTTP server replaying recorded Hugging Face / arXiv answers (never the internet).

Shared by the fetch unit tests and the reader's Pilot tests (tests/ is on sys.path through
tests/conftest.py)."""

from __future__ import annotations

import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

OWN = Path(__file__).resolve().parent / "fixtures" / "formats"
QUERY_FEED = (OWN / "arxiv_query_5.xml").read_text(encoding="utf-8")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on exit: connections are refused


def feed_slice(start: int, count: int, ids: list[str] | None = None) -> str:
    """The recorded 5-entry feed cut to one page (or to the entries with `ids`)."""
    head, *entries = QUERY_FEED.split("  <entry>")
    entries[-1] = entries[-1].replace("</feed>\n", "")
    if ids is not None:
        chosen = [e for e in entries if any(f"/abs/{i}v" in e for i in ids)]
        total = len(chosen)
    else:
        chosen = entries[start : start + count]
        total = len(entries)
    head = re.sub(r"<opensearch:totalResults>\d+<", f"<opensearch:totalResults>{total}<", head)
    head = re.sub(r"<opensearch:startIndex>\d+<", f"<opensearch:startIndex>{start}<", head)
    return head + "".join("  <entry>" + e for e in chosen) + "</feed>\n"


class Server:
    """Scripted answers per path: a queue of (status, body) used up in order, then `default`."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, bytes]]] = {}
        self.default: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                outer.requests.append(
                    {"path": parts.path, "query": query, "agent": self.headers["User-Agent"]}
                )
                queue = outer.script.get(parts.path)
                if queue:
                    status, body = queue.pop(0)
                elif parts.path in outer.default:
                    status, body = outer.default[parts.path](query)
                else:
                    status, body = 404, b"not found"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def arxiv_answer(query: dict[str, str]) -> tuple[int, bytes]:
    if query.get("id_list"):
        ids = query["id_list"].split(",")
        return 200, feed_slice(0, len(ids), ids=ids).encode()
    start, count = int(query.get("start", 0)), int(query.get("max_results", 10))
    return 200, feed_slice(start, count).encode()


def replay_server() -> Server:
    """A server answering Daily Papers (3 papers) and arXiv queries (5 papers); close() it."""
    srv = Server()
    srv.default["/api/daily_papers"] = lambda q: (200, (OWN / "hf_daily_small.json").read_bytes())
    srv.default["/api/query"] = arxiv_answer
    return srv
