"""Full-text search over the library, on Whoosh: the index is a cache of the records.

A search runs through these stages, one module each:

- query:      the query language (filters, fielded clauses, typed words) to a Whoosh query
- expansion:  prefix and typo words bounded to the most frequent index words
- spelling:   did-you-mean for unknown words
- ranking:    the query tree as a scoring.Plan; the top k merged across segments
- scoring:    BM25F over one segment's postings, as numpy arrays
- segments:   a Whoosh segment as scoring.Segment, and the caches (CACHES) they share
- w3format:   the only reader of Whoosh 3's bytes (posting blocks, term tables)
- highlight / similar: matched spans, papers like one paper

Around them: schema (what a paper is to the index), index (SearchIndex, wiring it all),
overlay (this process's saves not yet in the index, laid over its answers), writer (every
write), indexer + lease (the one process that writes, and the durable queue it works down),
warmup + warm_files (common words ready, saved beside the index) and whoosh_patches (every
change to Whoosh's classes, installed by SearchIndex, not at import).
"""

from paperreader.core.errors import IndexDamaged
from paperreader.core.search.index import SearchIndex
from paperreader.core.search.query import SORTS

__all__ = ["SORTS", "IndexDamaged", "SearchIndex"]
