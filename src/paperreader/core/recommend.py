"""Recommendations from the user's bookmarks and tags, offline, as arxiv-sanity does them.

tf-idf over every paper's title and abstract, then a linear SVM trained on the positives
(bookmarked papers, or those with one tag) against the other papers (a sample of 20,000 of
them in a large library); its decision values rank the rest. The records are streamed into the vectorizer, so only the sparse matrix is
held, never the texts (~100 MB of float32 at 100,000 papers).

Caches:
* the tf-idf matrix and its ids in `<library>/recommend-cache/` (scipy `.npz` + ids file),
  keyed by the records' change stamp (count, highest rowid): built once, ~a minute at 100,000
  papers, then loaded in well under a second;
* each ranking in memory, keyed by the matrix and the set of positive ids: asking again
  (another page, another exclusion set) costs a sort.

scikit-learn and scipy are imported on first use: the reader starts without them.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from paperreader.core.fsutil import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from scipy.sparse import csr_matrix

CACHE_DIR = "recommend-cache"
MATRIX_FILE = "tfidf.npz"
IDS_FILE = "ids.txt"
KEY_FILE = "key.json"
FORMAT = 1
MAX_FEATURES = 50_000
MIN_DF = 2
MAX_DF = 0.5  # a word in over half the papers tells nothing about any of them
SVM_C = 0.1
MAX_NEGATIVES = 20_000  # other papers a model is trained against (a sample past this)
RANKINGS_KEPT = 8
TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z0-9_]+\b"


class _Texts(Protocol):
    """What the recommender needs of Records (see Records.iter_texts, change_stamp)."""

    def iter_texts(self, batch: int = 2000) -> Iterator[tuple[str, str, str]]: ...

    def change_stamp(self) -> tuple[int, int]: ...


class Ranking(list):  # type: ignore[type-arg]
    """[(paper id, score)], best first; `reason` says why it is empty when it is."""

    def __init__(self, items: Iterable[tuple[str, float]] = (), reason: str | None = None):
        super().__init__(items)
        self.reason = reason


class Recommender:
    """Rank papers by likeness to a set of positives. Thread-safe; `rank` may take seconds
    on a large library the first time (UI: call it from a thread worker)."""

    def __init__(self, root: Path, records: _Texts) -> None:
        self.root = Path(root)
        self.folder = self.root / CACHE_DIR
        self.records = records
        self._lock = threading.RLock()
        self._matrix: csr_matrix | None = None
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._key: list[int] | None = None
        self._rankings: OrderedDict[tuple[Any, frozenset[str]], np.ndarray] = OrderedDict()
        self.last_timings: dict[str, float] = {}

    # -- the tf-idf matrix -------------------------------------------------------------------
    def _stamp(self) -> list[int]:
        return [FORMAT, MAX_FEATURES, MIN_DF, *self.records.change_stamp()]

    def matrix(self) -> tuple[csr_matrix, list[str]]:
        """The tf-idf matrix (a row per paper, rows in `ids` order), from memory, the cache
        folder, or built afresh when the records changed since."""
        with self._lock:
            stamp = self._stamp()
            if self._matrix is None or self._key != stamp:
                loaded = self._load(stamp)
                matrix, ids = loaded if loaded else self._build(stamp)
                self._matrix, self._ids, self._key = matrix, ids, stamp
                self._row = {paper_id: n for n, paper_id in enumerate(ids)}
                self._rankings.clear()
            assert self._matrix is not None
            return self._matrix, self._ids

    def _load(self, stamp: list[int]) -> tuple[csr_matrix, list[str]] | None:
        from scipy import sparse

        try:
            key = json.loads((self.folder / KEY_FILE).read_text(encoding="utf-8"))
            if key != stamp:
                return None
            ids = (self.folder / IDS_FILE).read_text(encoding="utf-8").split("\n")
            matrix = sparse.load_npz(self.folder / MATRIX_FILE).tocsr()
        except (OSError, ValueError, KeyError):  # absent, half-written or foreign: rebuild
            return None
        if matrix.shape[0] != len(ids):
            return None
        return matrix, ids

    def _build(self, stamp: list[int]) -> tuple[csr_matrix, list[str]]:
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer

        ids: list[str] = []

        def texts() -> Iterator[str]:
            for paper_id, title, abstract in self.records.iter_texts():
                ids.append(paper_id)
                yield f"{title}. {title}. {abstract}"  # the title counts double

        vectorizer = TfidfVectorizer(
            strip_accents="unicode",
            lowercase=True,
            stop_words="english",
            token_pattern=TOKEN_PATTERN,
            max_features=MAX_FEATURES,
            min_df=MIN_DF,
            max_df=MAX_DF,
            sublinear_tf=True,
            dtype=np.float32,
        )
        try:
            matrix = vectorizer.fit_transform(texts()).tocsr()
        except ValueError:  # too few papers or words for min_df: nothing to learn from
            matrix = sparse.csr_matrix((len(ids), 0), dtype=np.float32)
        self._save(matrix, ids, stamp)
        return matrix, ids

    def _save(self, matrix: csr_matrix, ids: list[str], stamp: list[int]) -> None:
        from scipy import sparse

        buffer = io.BytesIO()
        sparse.save_npz(buffer, matrix, compressed=False)
        with contextlib.suppress(OSError):  # a cache: without it, the next start rebuilds
            (self.folder / KEY_FILE).unlink(missing_ok=True)  # stale until all is written
            atomic_write(self.folder / MATRIX_FILE, buffer.getvalue())
            atomic_write(self.folder / IDS_FILE, "\n".join(ids).encode("utf-8"))
            atomic_write(self.folder / KEY_FILE, json.dumps(stamp).encode("utf-8"))

    # -- ranking -----------------------------------------------------------------------------
    def rank(
        self, positive_ids: set[str], exclude: set[str] | None = None, limit: int = 50
    ) -> Ranking:
        """The papers most like the positives, best first, as (id, score); never a positive
        or an excluded paper. Empty, with a `reason`, when there is nothing to learn from."""
        import time

        started = time.perf_counter()
        matrix, ids = self.matrix()
        built = time.perf_counter()
        with self._lock:
            rows = sorted({self._row[i] for i in positive_ids if i in self._row})
            if not rows:
                return Ranking(reason="bookmark or tag a few papers to get recommendations")
            if len(rows) == len(ids):
                return Ranking(reason="every paper is a positive: nothing to tell them from")
            if matrix.shape[1] == 0:
                return Ranking(reason="too few papers with words in common to learn from")
            key = (tuple(self._key or ()), frozenset(ids[r] for r in rows))
            scores = self._rankings.get(key)
            if scores is not None:
                self._rankings.move_to_end(key)
        if scores is None:
            scores = self._train_and_score(matrix, rows)
            with self._lock:
                self._rankings[key] = scores
                while len(self._rankings) > RANKINGS_KEPT:
                    self._rankings.popitem(last=False)
        trained = time.perf_counter()
        skip = set(rows)
        skip.update(self._row[i] for i in exclude or () if i in self._row)
        ranking = Ranking(_top(scores, skip, limit, ids))
        if not ranking:
            ranking.reason = "every other paper is excluded (read or already bookmarked)"
        self.last_timings = {
            "matrix": built - started,
            "train": trained - built,
            "select": time.perf_counter() - trained,
        }
        return ranking

    @staticmethod
    def _train_and_score(matrix: csr_matrix, rows: list[int]) -> np.ndarray:
        """Decision values of a linear SVM trained on `rows` (positives) against the other
        papers; past MAX_NEGATIVES of those, a fixed random sample of them (liblinear copies
        its input to float64 and walks it ~25 times: 2.6 s on all 100,000 papers, 0.3 s on
        20,000, with the same top 50 in the benchmark). Every paper is scored."""
        import warnings

        from sklearn.svm import LinearSVC

        total = matrix.shape[0]
        positives = np.asarray(rows, dtype=np.int64)
        negatives = np.setdiff1d(np.arange(total, dtype=np.int64), positives, assume_unique=True)
        if len(negatives) > MAX_NEGATIVES:
            negatives = np.random.default_rng(0).choice(negatives, MAX_NEGATIVES, replace=False)
        train = np.sort(np.concatenate([positives, negatives]))
        labels = np.isin(train, positives).astype(np.int8)
        model = LinearSVC(class_weight="balanced", C=SVM_C, tol=1e-4, max_iter=2000, dual=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: the ranking is still good
            model.fit(matrix[train], labels)
        return np.asarray(model.decision_function(matrix), dtype=np.float32)

    def forget(self) -> None:
        """Drop what is held in memory (the cache folder stays)."""
        with self._lock:
            self._matrix, self._ids, self._row, self._key = None, [], {}, None
            self._rankings.clear()


def _top(scores: np.ndarray, skip: set[int], limit: int, ids: list[str]) -> list[tuple[str, float]]:
    """The `limit` best rows not in `skip`, best first (ties by row, so stable)."""
    if limit <= 0:
        return []
    wanted = min(len(scores), limit + len(skip))
    if wanted < len(scores):
        candidates = np.argpartition(-scores, wanted - 1)[:wanted]
    else:
        candidates = np.arange(len(scores))
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    out = []
    for row in order:
        if int(row) in skip:
            continue
        out.append((ids[row], float(scores[row])))
        if len(out) >= limit:
            break
    return out
