"""The library's views (built-in and saved), what is new since the last visit, recommendations
and marking a view read: a part of `Library` (it inherits this), kept apart from the facade's
papers, search and import code.

* A saved view's query is a filter ANDed with whatever is typed (`search(view=NAME)`).
* `new`: papers added since the last visit (the reader calls `begin_visit` when it starts;
  the command line reads when the reader last started).
* `for-you` and `for-you:TAG`: unread papers ranked by core/recommend.py, trained on the
  bookmarked papers (or those tagged TAG).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from paperreader.core.errors import QueryError
from paperreader.core.models import Hit, Paper, ReadState, SearchResult, UserData
from paperreader.core.recommend import Ranking, Recommender
from paperreader.core.views import (
    BUILTIN,
    Counts,
    SavedView,
    ViewCounts,
    ViewError,
    ViewStore,
    ids_filter,
    new_counter,
)

EXACT_NEW = 4000  # new (or old) papers counted one by one; past this, see count_new
NEW_SHOWN = 2000  # newest additions a `new` view lists (and marks) at most
NO_PAPER = 'ids:"-no-such-paper-"'  # a filter matching nothing
FOR_YOU = "for-you"
RANKED = 500  # papers a recommendation view lists at most
VISIT = "all"  # the view the reader opens on: when it was last opened is the last visit


def combine(*filters: str) -> str:
    """Filters ANDed, each in parentheses (`a b` alone would be OR-ed word by word)."""
    parts = [f for f in filters if f.strip()]
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return " AND ".join(f"({f})" for f in parts)


class LibraryViews:
    """Mixed into Library (see its `__init__`, which calls `_init_views`)."""

    def _init_views(self) -> None:
        self.views = ViewStore(self.root)
        self._user_version = 0
        self.view_counts = ViewCounts(self.count_matching, self.data_version, self.count_new)
        self._visit: datetime | None = None
        self._visit_known = False
        self._new_ids: set[str] | None = None
        self._new_lock = threading.Lock()
        self._recommender: Recommender | None = None

    # -- counting ----------------------------------------------------------------------------
    def count_matching(self, query: str, filter_text: str = "") -> int:
        """Papers matching the query and the filter (what a view's counts are made of)."""
        if not query.strip() and not filter_text.strip():
            return self.count()
        result = self.index.search(query, limit=1, filter_text=filter_text, correct=False)
        return result.total

    def count_new(self, query: str, since: float) -> int:
        """Papers matching `query` added after `since`. A few new papers are counted exactly
        by id (views.new_counter); past EXACT_NEW, so are the old ones (all matches minus
        the old ones'); with many of both, it is an estimate: the query's share of the
        library, applied to the new papers (counting 100,000 ids took 20 s a view)."""
        added = self.records.count_added_since(since)
        if added <= EXACT_NEW or not query.strip():
            return new_counter(self.records, self.count_matching)(query, since)
        matching = self.count_matching(query)
        total = self.count(fresh=True)
        old = total - added
        if old <= 0:
            return matching
        if old <= EXACT_NEW:
            old_ids = self.records.added_before(since)
            counted = sum(
                self.count_matching(query, ids_filter(old_ids[i : i + 400]))
                for i in range(0, len(old_ids), 400)
            )
            return max(0, matching - counted)
        return round(matching * added / total) if total else 0

    def data_version(self) -> tuple[object, ...]:
        """Changes when papers or the user's data do (here, in the index or elsewhere)."""
        return (self.records.change_stamp(), self.records.unindexed_count(), self._user_version)

    def count_views(
        self,
        views: list[SavedView] | None = None,
        should_stop=None,  # type: ignore[no-untyped-def]
    ) -> dict[str, Counts]:
        """Each view's unread and new counts (cached: only the stale ones are counted)."""
        views = self.views.all() if views is None else views
        searches = [v for v in views if not (v.builtin and v.name in ("new", FOR_YOU))]
        out = self.view_counts.refresh(searches, should_stop)
        if any(v.builtin and v.name == "new" for v in views):
            since = self.last_visit()
            if since is None:
                out["new"] = Counts(0, 0)
            else:
                stamp = since.timestamp()
                out["new"] = Counts(
                    self.count_new("is:unread", stamp), self.records.count_added_since(stamp)
                )
        if any(v.builtin and v.name == FOR_YOU for v in views):
            out[FOR_YOU] = Counts(0, 0)
        return out

    # -- what's new --------------------------------------------------------------------------
    def begin_visit(self) -> datetime | None:
        """The reader starts: remember the previous visit (papers added since are new this
        session) and stamp this one. Returns the previous visit (None: the first)."""
        try:
            previous = self.views.touch(VISIT)
        except Exception:  # a broken views.yaml: nothing is new, and saving views says why
            previous = None
        self._visit, self._visit_known, self._new_ids = previous, True, None
        return previous

    def last_visit(self) -> datetime | None:
        if not self._visit_known:
            view = self.views.get(VISIT)
            self._visit = view.last_opened if view else None
            self._visit_known = True
        return self._visit

    def new_ids(self) -> set[str]:
        """The papers added since the last visit (the newest NEW_SHOWN)."""
        with self._new_lock:
            if self._new_ids is None:
                since = self.last_visit()
                self._new_ids = (
                    set(self.records.added_since(since.timestamp(), NEW_SHOWN)) if since else set()
                )
            return self._new_ids

    def papers_added(self) -> None:
        """Papers came in (here or elsewhere): what is new is looked up again."""
        with self._new_lock:
            self._new_ids = None

    def mark_new(self, result: SearchResult) -> SearchResult:
        new = self.new_ids()
        if new:
            for hit in result.hits:
                hit.new = hit.id in new
        return result

    # -- views as filters --------------------------------------------------------------------
    def saved_view(self, name: str) -> SavedView | None:
        view = self.views.get(name)
        return view if view is not None and not view.builtin else None

    def view_filter_of(self, view: str | None) -> str:
        if not view or view == "all":
            return ""
        if view == "new":
            ids = self.new_ids()
            return ids_filter(sorted(ids)) if ids else NO_PAPER
        if view.startswith("tag:"):
            return f'tags:"{view[4:]}"'
        if view in BUILTIN:
            return BUILTIN[view]
        saved = self.saved_view(view)
        if saved is None:
            names = [v.name for v in self.views.all()]
            raise QueryError(f"unknown view {view!r}; known: {', '.join([*names, 'tag:NAME'])}")
        return saved.query

    def open_view(self, name: str) -> datetime | None:
        """The user opened a view: its `new` count starts again from now."""
        if name.startswith(("tag:", FOR_YOU)) or name == VISIT:
            return None
        try:
            return self.views.touch(name)
        except (ViewError, Exception):  # a broken file: the view still opens
            return None

    def save_view(self, name: str, query: str, sort: str = "relevance") -> SavedView:
        if query.strip():
            self.index.parse(query)  # a query that cannot be read is not saved
        return self.views.save(name, query, sort)

    def remove_view(self, name: str) -> None:
        self.views.remove(name)
        self.view_counts.forget(name)

    def view_ids(self, view: str, query: str = "", *, unread: bool = False) -> list[str]:
        """Every paper of a view (matching `query` too); only the unread ones with `unread`."""
        if view.startswith(FOR_YOU):
            ranked = self._ranked(view, query)
            return [pid for pid, _ in ranked]
        filters = combine(self.view_filter_of(view), "is:unread" if unread else "")
        result = self.index.search(query, limit=10**9, filter_text=filters, correct=False)
        return [h.id for h in result.hits]

    def mark_view_read(self, view: str, query: str = "", progress=None) -> int:  # type: ignore[no-untyped-def]
        """Mark every unread paper of the view read. Returns how many were."""
        ids = self.view_ids(view, query, unread=True)
        for n, paper_id in enumerate(ids, 1):
            self.set_state(paper_id, ReadState.READ)
            if progress:
                progress(n, len(ids))
        return len(ids)

    # -- recommendations ---------------------------------------------------------------------
    def recommender(self) -> Recommender:
        if self._recommender is None:
            self._recommender = Recommender(self.root, self.records)
        return self._recommender

    def recommend(self, tag: str | None = None, limit: int = 50) -> Ranking:
        """Unread papers most like the bookmarked ones (or those tagged `tag`), best first."""
        users = self.users()
        if tag:
            positives = {pid for pid, u in users.items() if tag.lower() in u.tags}
        else:
            positives = {pid for pid, u in users.items() if u.bookmarked}
        seen = {pid for pid, u in users.items() if u.state != ReadState.UNREAD}
        ranking = self.recommender().rank(positives, exclude=seen, limit=limit)
        if not positives:
            ranking.reason = (
                f"tag a few papers #{tag} to get recommendations for it"
                if tag
                else "bookmark a few papers to get recommendations"
            )
        return ranking

    def _ranked(self, view: str, query: str) -> Ranking:
        tag = view.partition(":")[2] or None
        ranking = self.recommend(tag, limit=RANKED)
        if query.strip() and ranking:
            ids = [pid for pid, _ in ranking]
            found = self.index.search(query, limit=len(ids), filter_text=ids_filter(ids))
            keep = {h.id for h in found.hits}
            ranking = Ranking([r for r in ranking if r[0] in keep], ranking.reason)
        return ranking

    def search_for_you(self, view: str, query: str, offset: int, limit: int) -> SearchResult:
        started = time.perf_counter()
        ranking = self._ranked(view, query)
        page = ranking[offset : offset + limit]
        papers = self.records.get_many([pid for pid, _ in page])
        users = self.users()
        hits = [hit_of(papers[pid], users.get(pid), score) for pid, score in page if pid in papers]
        return SearchResult(
            query=query,
            total=len(ranking),
            hits=hits,
            offset=offset,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            reason=ranking.reason,
        )


def hit_of(paper: Paper, user: UserData | None, score: float = 0.0) -> Hit:
    return Hit(
        id=paper.id,
        title=paper.title,
        first_author=paper.first_author,
        published=paper.published,
        score=score,
        bookmarked=bool(user and user.bookmarked),
        has_note=bool(user and user.note and user.note.text.strip()),
        state=user.state if user else ReadState.UNREAD,
        tags=list(user.tags) if user else [],
    )
