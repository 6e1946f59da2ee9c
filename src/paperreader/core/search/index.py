"""SearchIndex: open and close, a searcher per thread, search() wiring the stages."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q

from paperreader.core import heap, mapped
from paperreader.core.errors import IndexDamaged, QueryError, _guarded
from paperreader.core.models import Hit, Paper, SearchResult, UserData
from paperreader.core.search import (
    commit,
    highlight,
    segments,
    similar,
    warmup,
    whoosh_patches,
    writer,
)
from paperreader.core.search.commit import Reload
from paperreader.core.search.highlight import query_terms, text_terms
from paperreader.core.search.overlay import LocalChanges, merge_page
from paperreader.core.search.query import SORTS, QueryParser
from paperreader.core.search.ranking import fast_search, matching
from paperreader.core.search.schema import (
    SCHEMA_VERSION,
    IndexedPaper,
    document,
    hit_from_fields,
    make_schema,
)
from paperreader.core.search.segments import CACHES, MAPPED_LIMIT, segment_sources
from paperreader.core.search.spelling import Speller

MISSING = "the search index is missing"


def _tags(stored: object) -> list[str]:
    return [t for t in str(stored or "").split(",") if t]


def _undated_last(hit: Hit, newest: bool) -> tuple:  # type: ignore[type-arg]
    if hit.published is None:
        return (1, 0)
    day = hit.published.toordinal()
    return (0, -day if newest else day)


# How the saves made here are placed among the index's hits (relevance: first).
SORT_KEYS: dict[str, Callable[[Hit], object]] = {
    "newest": lambda hit: _undated_last(hit, True),
    "oldest": lambda hit: _undated_last(hit, False),
    "title": lambda hit: hit.title.casefold(),
}


def _drop_text(query: Q.Query) -> Q.Query:
    if query.is_leaf() and getattr(query, "fieldname", None) == "text":
        return Q.NullQuery
    return query


def _text_only(  # type: ignore[no-untyped-def]
    searcher, query: Q.Query, hits: list[Hit], docnums: dict[str, int] | None = None
) -> set[str]:
    """The hits of the page that the query matches only through the full text: the query
    without its `text` clauses, run on those hits' documents alone. With the hits' document
    numbers (`docnums`, by id), by the array plans, whose lists and phrase matches the
    search has just kept (Whoosh's matchers took 100-130 ms for a common phrase at 100,000
    papers); otherwise by Whoosh's."""
    ids = {hit.id for hit in hits}
    if not ids:
        return set()
    rest = query.accept(_drop_text).normalize()
    if rest is Q.NullQuery or isinstance(rest, type(Q.NullQuery)):
        return ids
    if docnums is not None and ids <= docnums.keys():
        try:
            found_docs = matching(searcher, rest, [docnums[i] for i in ids])
        except Exception:  # noqa: BLE001 - only decides where snippets are shown
            return set()
        return {i for i in ids if docnums[i] not in found_docs}
    try:
        only = Q.And([rest, Q.Or([Q.Term("id", paper_id) for paper_id in ids])])
        found = {fields["id"] for fields in searcher.search(only, limit=None)}
    except Exception:  # noqa: BLE001 - only decides where snippets are shown
        return set()
    return ids - found


class SearchIndex:
    """A Whoosh index in a folder; one long-lived searcher per thread, refreshed after writes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema = make_schema()
        self._ix: whoosh_index.Index | None = None
        self._local = threading.local()
        self._generation = 0
        self._write_lock = threading.Lock()
        self.local = LocalChanges(self.schema)  # saves made here, not yet in the index
        self._query = QueryParser(self.schema)
        self._speller = Speller(self.schema)
        # A paper's full text by id ("" when it has none), read by every write of a document
        # (upsert, rebuild, remember): set by the Library to read `files/<id>/text.txt`.
        self.text_loader: Callable[[str], str] | None = None
        whoosh_patches.install()  # (idempotent) before anything of Whoosh's is opened
        heap.settle()  # (idempotent) numpy's temporaries kept in the heap

    # -- opening -----------------------------------------------------------------------------
    def open(self) -> str | None:
        """Open the index (once; later calls check it is still there); returns why it must be
        rebuilt (missing, unreadable, from an older version), or None."""
        version_file = self.path / "paperreader-schema"
        try:
            if not whoosh_index.exists_in(str(self.path)):  # reads the TOC: may raise too
                return MISSING
            if version_file.read_text().strip() != SCHEMA_VERSION:
                return "the search index is from an older paperreader"
            if self._ix is None:
                self._ix = whoosh_index.open_dir(str(self.path))
                with self._ix.searcher() as s:
                    s.doc_count()
        except Exception as exc:  # any corruption: the index is only a cache
            self._ix = None
            return f"the search index is unreadable ({type(exc).__name__})"
        return None

    def clean_leftovers(self) -> None:
        """Remove what a killed writer left in the folder (see writer.clean_leftovers)."""
        writer.clean_leftovers(self.path)

    @property
    def ix(self) -> whoosh_index.Index:
        if self._ix is None:
            raise RuntimeError("index not open")
        return self._ix

    def rebuild(
        self,
        items: Iterable[tuple[Paper, UserData | None]],
        progress: Callable[[int], None] | None = None,
        upto: int = 0,
    ) -> int:
        """Build a fresh index beside the old one, then swap it in (the full texts re-read;
        a rebuild cut short is resumed: see journal.py)."""
        items = self.with_text(items)
        self._ix, count = writer.rebuild(
            self.path, self.schema, items, progress, self.close, upto=upto
        )
        self._generation += 1
        if progress:
            progress(count)
        return count

    def close(self) -> None:
        # A damaged index may fail even to close: it is a cache, let it go.
        searcher = getattr(self._local, "searcher", None)
        self._local.searcher = None
        if searcher is not None:
            with contextlib.suppress(Exception):
                searcher.close()
        if self._ix is not None:
            with contextlib.suppress(Exception):
                self._ix.close()
            self._ix = None

    # -- writing (only ever by the indexer lease's holder: see indexer.py) ----------------------
    @_guarded
    def upsert(
        self, items: Iterable[tuple[Paper, UserData | None]], reload: Reload | None = None
    ) -> int:
        """Add or replace documents in one commit (`reload`: the papers of small segments
        folded in, see commit.py)."""
        count = commit.upsert(self.ix, self._write_lock, self.with_text(items), self._texts(reload))
        # No generation bump needed: each thread's searcher sees the new TOC and reopens.
        return count

    @_guarded
    def add_segments(  # type: ignore[no-untyped-def]
        self, folder: Path, written: list, maybe_indexed=None
    ) -> int:
        """Commit segments that workers wrote in `folder` (see stream.py)."""
        return commit.add_segments(self.ix, self._write_lock, folder, written, maybe_indexed)

    @_guarded
    def indexed_ids(self) -> commit.IndexedIds:
        """The ids with a document here (and some whose documents were deleted)."""
        return commit.IndexedIds(() if self.missing() else commit.index_ids(self.ix))

    @_guarded
    def foldable_ids(self, added: int) -> list[str]:
        """The papers of the small segments a commit of `added` papers folds in (commit.py)."""
        return [] if self.missing() else commit.foldable_ids(self.ix, added)

    def _texts(self, reload: Reload | None) -> Reload | None:
        return None if reload is None else (lambda ids: self.with_text(reload(ids)))

    def remember(self, paper: Paper, user: UserData | None) -> None:
        """A save made here that the index does not hold yet: searches here show it."""
        self.local.remember(document(self._paper_with_text(paper), user))

    def _paper_with_text(self, paper: Paper) -> Paper:
        loader = self.text_loader
        if loader is None or isinstance(paper, IndexedPaper):
            return paper
        text = loader(paper.id)
        return IndexedPaper.of(paper, text) if text else paper

    def with_text(
        self, items: Iterable[tuple[Paper, UserData | None]]
    ) -> Iterable[tuple[Paper, UserData | None]]:
        if self.text_loader is None:
            return items
        return ((self._paper_with_text(paper), user) for paper, user in items)

    def optimize(self) -> None:
        writer.optimize(self.ix, self._write_lock)
        self._generation += 1

    # -- reading -----------------------------------------------------------------------------
    def searcher(self):  # type: ignore[no-untyped-def]
        """This thread's searcher, refreshed when the index changed (here or in another process)."""
        if self._ix is None and self.open() is not None:
            raise IndexDamaged(f"{self.path}: the search index is not there yet; it is being built")
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is None or local.generation != self._generation or searcher.ixreader is None:
            if searcher is not None:
                local.searcher = None
                searcher.close()
            searcher = self._open_searcher()
            local.searcher, local.generation = searcher, self._generation
        elif not searcher.up_to_date():
            # Never Searcher.refresh(): Whoosh's reader reuse keeps the segments a merge
            # removed, so merged papers showed twice (and an empty index cannot refresh).
            local.searcher = None  # closed: never left behind if reopening fails
            searcher.close()
            searcher = self._open_searcher()
            local.searcher = searcher
        return searcher

    def _warm_folder(self) -> Path:
        return self.path.with_name(self.path.name + "-warm")

    def _open_searcher(self):  # type: ignore[no-untyped-def]
        """A new searcher, with the saved warm-up of its big segments in use from the first
        search (a few ms: the files are mapped, not read; each segment is tried once)."""
        searcher = self.ix.searcher()
        with contextlib.suppress(Exception):  # only a cache
            folder = self._warm_folder()
            for src in segment_sources(searcher):
                if (
                    src.doc_count >= segments.WARM_SAVE_FROM_DOCS
                    and src.key not in CACHES.warm_tried
                ):
                    CACHES.warm_tried.add(src.key)
                    src.load_warm(folder)
        return searcher

    def missing(self) -> bool:
        """No usable index yet (a new library, one from an older version or found damaged at
        open, whose rebuild has not finished): reads answer with nothing rather than an error,
        and the indexer's status line says why."""
        return self._ix is None and self.open() is not None

    @_guarded
    def doc_count(self) -> int:
        return 0 if self.missing() else self.searcher().doc_count()

    @_guarded
    def tag_counts(self) -> dict[str, int]:
        if self.missing():
            return {}
        searcher = self.searcher()
        reader = searcher.reader()
        counts = {
            t.decode(): reader.doc_frequency("tags", t)
            for t in reader.lexicon("tags")
            if reader.doc_frequency("tags", t)
        }
        for paper_id, doc in list(self.local.docs.items()):  # saves not in the index yet
            old = searcher.document(id=paper_id) or {}
            for tag in _tags(old.get("tags")):
                counts[tag] = counts.get(tag, 0) - 1
            for tag in _tags(doc.get("tags")):
                counts[tag] = counts.get(tag, 0) + 1
        return {tag: n for tag, n in counts.items() if n > 0}

    # -- warming -----------------------------------------------------------------------------
    @_guarded
    def warm(self, budget: int | None = None, should_stop: Callable[[], bool] | None = None) -> int:
        """Warm the common words' postings up to `budget` bytes (see warmup.warm)."""
        return warmup.warm(self.searcher(), self.schema, self._warm_folder(), budget, should_stop)

    # -- searching ---------------------------------------------------------------------------
    def parse(self, text: str, *, partial_last: bool = False) -> Q.Query:
        """The query language as a Whoosh query (see query.QueryParser.parse)."""
        return self._query.parse(text, partial_last=partial_last)

    @_guarded
    def search(self, text: str, **options: object) -> SearchResult:
        """Search (see `_search`). A commit of another process may remove a segment between
        this thread's look at the TOC and its reads: then the search runs once more, on the
        new index."""
        try:
            return self._search(text, **options)  # type: ignore[arg-type]
        except QueryError:
            raise
        except Exception:
            searcher = getattr(self._local, "searcher", None)
            changed = searcher is not None
            with contextlib.suppress(Exception):
                changed = searcher is not None and (searcher.is_closed or not searcher.up_to_date())
            if not changed:
                raise
            self._local.searcher = None
            with contextlib.suppress(Exception):
                searcher.close()
            return self._search(text, **options)  # type: ignore[arg-type]

    def _search(
        self,
        text: str,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str = "relevance",
        filter_text: str = "",
        partial_last: bool = False,
        correct: bool = True,
    ) -> SearchResult:
        started = time.perf_counter()
        text = text.strip()
        if self.missing():
            return SearchResult(query=text, total=0, hits=[], offset=offset, elapsed_ms=0.0)
        searcher = self.searcher()
        query = self.parse(text, partial_last=partial_last) if text else Q.Every()
        suggestion = None
        corrected = False
        # (words of a save made here are not in the index yet: they need no correcting)
        if correct and text and not (self.local and self.local.matching(query)):
            # (this search's searcher: asking for the thread's again would close this one
            # if another process had committed meanwhile)
            suggestion = self.correction(text, skip_last=partial_last, searcher=searcher)
            if suggestion:
                query = self.parse(suggestion, partial_last=partial_last)
                corrected = True
        if filter_text.strip():
            query = Q.And([query, self.parse(filter_text)])
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r}; known: {', '.join(SORTS)}")
        if sort == "relevance" and isinstance(query, Q.Every):
            sort = "newest"  # nothing to rank by: newest first
        pending = len(self.local.docs)
        docnums: dict[str, int] | None = None  # the hits by id, when all are the index's
        try:
            ranked, total = fast_search(searcher, query, offset + limit + pending, sort)
        except QueryError:
            raise
        except Exception as exc:
            changed = True  # (a TOC that cannot be read right now: being replaced)
            with contextlib.suppress(Exception):
                changed = not searcher.up_to_date()
            if changed:
                raise  # the index changed under this search: search() runs it again
            raise QueryError(
                f"the query {text!r} failed: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from None
        if pending:  # saves made here that the index does not hold yet
            hits = [hit_from_fields(searcher.stored_fields(d), score) for d, score in ranked]
            hits, total = merge_page(
                hits,
                total,
                self.local,
                self.local.matching(query),
                self.local.held_by(searcher, query),
                lambda fields: hit_from_fields(fields, 0.0),
                SORT_KEYS.get(sort),
                offset,
                limit,
            )
        else:
            hits = [
                hit_from_fields(searcher.stored_fields(d), score) for d, score in ranked[offset:]
            ]
            docnums = {hit.id: d for hit, (d, _) in zip(hits, ranked[offset:], strict=True)}
        # Highlights use the query's own (bounded) term expansion: cheap, and unlike Whoosh's
        # matched-term tracking it also covers prefix and fuzzy expansions.
        terms = text_terms(query_terms(query, searcher.reader()))
        text_only = (
            _text_only(searcher, query, hits, docnums)
            if any(f == "text" for f, _ in terms)
            else set()
        )
        mapped.trim(MAPPED_LIMIT)
        return SearchResult(
            query=text,
            total=total,
            hits=hits,
            offset=offset,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            suggestion=suggestion,
            corrected=corrected,
            terms=terms,
            text_only=text_only,
        )

    # -- spelling ----------------------------------------------------------------------------
    def correction(
        self,
        text: str,
        *,
        skip_last: bool = False,
        searcher=None,  # type: ignore[no-untyped-def]
    ) -> str | None:
        """The query with unknown words replaced by the closest indexed words, or None.

        `skip_last` leaves a word still being typed alone (it is searched as a prefix)."""
        reader = (searcher or self.searcher()).reader()
        return self._speller.correction(reader, text, skip_last=skip_last)

    # -- highlights and similar papers ----------------------------------------------------------
    @staticmethod
    def spans(text: str, field: str, terms: set[tuple[str, str]]) -> list[tuple[int, int]]:
        """Character spans of `text` whose indexed form is one of the matched terms of `field`."""
        return highlight.spans(text, field, terms)

    @_guarded
    def similar(self, paper: Paper, limit: int = 10) -> list[Hit]:
        if self.missing():
            return []
        return similar.similar(self.searcher(), paper, limit)
