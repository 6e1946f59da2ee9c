"""Whoosh segments written in bulk: documents analysed with a cache of each word's analysis,
postings gathered per term in memory, then written through Whoosh's own codec (its per-document
writer and field writer; its postings blocks, term infos and term table as w3write.py writes
them), so the format is Whoosh's by construction and a search reads the same index as from
Whoosh's writer.

Whoosh's SegmentWriter spends its time per token: a generator pipeline of token objects per
word (regex, intra-word split, stop words, stemming), a posting tuple per word per document
sorted through temporary runs, and `add_posting` per posting with its type checks. Here a word
is analysed once per segment (the analysis of a word alone is the analysis of the word in its
text, except for positions, which are rebuilt as Whoosh numbers them), and a posting list is
handed to Whoosh's block writer a block at a time. tests/unit/search/test_bulk.py checks the
analysis against Whoosh's for every field of every document of the test corpus, and the index
against one written by Whoosh's writer (same terms, postings, stored fields, lengths; same
hits, order and scores)."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from functools import partial
from itertools import chain, repeat
from pickle import dumps, loads

import numpy as np
from whoosh.analysis import (
    CharsetFilter,
    CompositeAnalyzer,
    IntraWordFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.formats import Positions
from whoosh.system import pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from paperreader.core.search import positions, w3write
from paperreader.core.search.schema import GreekNames

_LOCAL_FILTERS = (
    IntraWordFilter,
    LowercaseFilter,
    GreekNames,
    CharsetFilter,
    StopFilter,
    StemFilter,
)
# Words whose analysis a field keeps for the process: the first met, mostly the common ones
# (a segment analyses each of its words once anyway). With 100,000, cleared when full, the
# write peaks of a process's 2nd-4th 30,000-paper segments were 382-406 MB; 346-372 now.
CACHE_WORDS = 20_000
# Raw words whose term numbers a segment keeps (the first met): all of them (103,000 in a
# 30,000-paper segment's abstracts) held 27 MB to the write; the rest are looked up again,
# which cost the segment's analysis ~1% (13.1 -> 13.3 s).
SEGMENT_WORDS = 20_000
# Postings turned into Python objects at a time when written (200,000: 21 MB more at the
# write's peak, no faster).
GROUP_POSTINGS = 50_000


class _TextAnalysis:
    """A TEXT field's analysis (Positions format, a regex tokenizer and word-local filters)
    with each raw word's result cached for the process. None from `make` when the field is
    not of that kind: Whoosh's own field.index() serves it."""

    def __init__(self, field) -> None:  # type: ignore[no-untyped-def]
        self.field = field
        self.analyzer = field.analyzer
        self.pattern = field.analyzer.items[0].expression
        self.boost = field.format.field_boost
        self.scorable = field.scorable
        self.cache: dict[str, tuple[tuple[str, ...], int, tuple[str, ...]]] = {}
        self.stems: dict[str, str] = {}
        self.widths: dict[str, int] = {}
        items = field.analyzer.items
        stops = [i for i, f in enumerate(items) if type(f) is StopFilter]
        # The words before the first stop filter: how many positions a raw word takes.
        self.before_stop = CompositeAnalyzer(*items[: stops[0]]) if stops else None
        stemmers = [f for f in items if type(f) is StemFilter]
        self.stemmer = None
        if stemmers == [items[-1]] and not items[-1].lang and len(items) > 2:
            self.stemmer = items[-1]
            self.before_stem = CompositeAnalyzer(*items[:-1])
        # Words analysed with string methods (_plain_word): a stemmer, if any, last.
        self.simple = not stemmers or self.stemmer is not None

    @classmethod
    def make(cls, field) -> _TextAnalysis | None:  # type: ignore[no-untyped-def]
        analyzer = getattr(field, "analyzer", None)
        if type(field.format) is not Positions or not isinstance(analyzer, CompositeAnalyzer):
            return None
        first, *rest = analyzer.items
        if type(first) is not RegexTokenizer or first.gaps or first.expression.groups:
            return None
        if not all(type(f) in _LOCAL_FILTERS for f in rest):
            return None
        stops = [f for f in rest if type(f) is StopFilter]
        if stops and not all(f.renumber for f in stops):
            return None
        if not stops and any(type(f) is IntraWordFilter for f in rest):
            return None  # (sub-word positions without renumbering: left to Whoosh)
        return cls(field)

    def word(self, raw: str) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
        """A raw word's indexed words, the position of the first one (as Whoosh's filters
        number it within the word), and its spelling words (no morphing filter applied)."""
        found = self.cache.get(raw)
        if found is None:
            keep = len(self.cache) < CACHE_WORDS
            found = self._plain_word(raw)
            if found is not None:
                if keep:
                    self.cache[raw] = found
                return found
            if self.stemmer is None:
                tokens = [(t.text, t.pos) for t in self.analyzer(raw, positions=True, mode="index")]
                texts = tuple(t for t, _ in tokens)
            else:  # the filters before the stemmer once, then the stemmer (word by word)
                tokens = [
                    (t.text, t.pos) for t in self.before_stem(raw, positions=True, mode="index")
                ]
                texts = tuple(self._stem(t) for t, _ in tokens)
            plain = tuple(t.text for t in self.analyzer(raw, no_morph=True))
            found = (texts, tokens[0][1] if tokens else 0, plain)
            if keep:
                self.cache[raw] = found
        return found

    def _plain_word(self, raw: str) -> tuple[tuple[str, ...], int, tuple[str, ...]] | None:
        """A word the intra-word filter passes whole (letters of one case, or digits: its
        own short cut), analysed with string methods, filter by filter as Whoosh's do; None
        for any other word (the analyzer runs)."""
        if not self.simple or not (
            (raw.isalpha() and (raw.islower() or raw.isupper())) or raw.isdigit()
        ):
            return None
        text = raw
        for step in self.analyzer.items[1:]:
            kind = type(step)
            if kind is LowercaseFilter:
                text = text.lower()
            elif kind is CharsetFilter:
                text = text.translate(step.charmap)
            elif kind is GreekNames and "\u0370" <= text[:1] <= "\u03ff":
                return None  # a Greek word is also indexed by its letters' names: the analyzer
            elif kind is StopFilter:
                size = len(text)
                if size < step.min or (step.max is not None and size > step.max):
                    return _STOPPED
                if text in step.stops:
                    return _STOPPED
        return ((self._stem(text) if self.stemmer else text,), 0, (text,))

    def _stem(self, text: str) -> str:
        stem = self.stems.get(text)
        if stem is None:
            stemmer = self.stemmer
            stem = text if text in stemmer.ignore else stemmer.stemfn(text)  # type: ignore[union-attr]
            if len(self.stems) < CACHE_WORDS:
                self.stems[text] = stem
        return stem

    def width(self, raw: str) -> int:
        """How many positions a raw word takes before stop words are dropped."""
        found = self.widths.get(raw)
        if found is None:
            chain = self.before_stop or self.analyzer
            found = 1 + max((t.pos for t in chain(raw, positions=True, mode="index")), default=-1)
            if len(self.widths) < CACHE_WORDS:
                self.widths[raw] = found
        return found

    def positions(self, value: str) -> dict[str, list[int]]:
        """Word -> its positions in `value`, as Whoosh's Positions format records them (for
        the tests; SegmentBuilder does the same with term numbers)."""
        raws = self.pattern.findall(value)
        entries = [self.word(r) for r in raws]
        poses: dict[str, list[int]] = {}
        first = next((k for k, e in enumerate(entries) if e[0]), None)
        if first is None:
            return poses
        pos = sum(self.width(r) for r in raws[:first]) + entries[first][1]
        for entry in entries[first:]:
            for text in entry[0]:
                poses.setdefault(text, []).append(pos)
                pos += 1
        return poses


def _encode_positions(poslist: list[int]) -> bytes:
    """Positions.encode, as Whoosh writes a posting's positions."""
    deltas = []
    base = 0
    for pos in poslist:
        deltas.append(pos - base)
        base = pos
    return pack_uint(len(deltas)) + dumps(deltas, 2)


_SINGLE: dict[int, bytes] = {}
_STOPPED: tuple[tuple[str, ...], int, tuple[str, ...]] = ((), 0, ())


def _one_position(pos: int) -> bytes:
    found = _SINGLE.get(pos)
    if found is None:
        found = _SINGLE[pos] = _encode_positions([pos])
    return found


_NUMPY_TYPES = {"H": np.uint16, "i": np.int32}


class _Postings:
    """One field's postings in a segment, flat in document order: term numbers, and weights
    (or frequencies times the field's boost) and values; each document's, as where its
    postings end (not a document number per posting: 16 MB at a 30,000-paper segment's peak)."""

    def __init__(self, boost: float | None = None) -> None:
        self.terms: list[bytes] = []
        self.numbers: dict[bytes, int] = {}
        self.term = array("i")
        self.docnums = array("i")  # the documents with postings here, and where theirs end
        self.ends = array("i")
        # With `boost`: each posting's frequency (its weight is freq x boost) and positions,
        # flat; two bytes each while they fit (a 30,000-paper segment's abstracts: 7M
        # positions and 4M frequencies, 22 MB less than four bytes each, in each worker).
        self.freq = array("H")
        self.weights: list = []  # type: ignore[type-arg]  # without: the weights as given
        self.pos = array("H")
        self.values: list[bytes] = []
        self.boost = boost

    def number(self, term: bytes) -> int:
        found = self.numbers.get(term)
        if found is None:
            found = self.numbers[term] = len(self.terms)
            self.terms.append(term)
        return found

    def fit(self, last_position: int) -> None:
        """Frequencies and positions up to `last_position` to come: four bytes each from
        now on if two do not hold it."""
        if last_position > 0xFFFF and self.pos.typecode == "H":
            self.pos = array("i", self.pos)
            self.freq = array("i", self.freq)

    def end_doc(self, docnum: int) -> None:
        """The postings added since the last call are document `docnum`'s."""
        size = len(self.term)
        if size != (self.ends[-1] if self.ends else 0):
            self.docnums.append(docnum)
            self.ends.append(size)

    def _doc_of_each(self) -> np.ndarray:
        ends = np.frombuffer(self.ends, dtype=np.int32)
        counts = np.diff(ends, prepend=np.int32(0))
        return np.repeat(np.frombuffer(self.docnums, dtype=np.int32), counts)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def grouped(
        self, keep: Callable[..., None] | None = None
    ) -> Iterator[tuple[bytes, list[int], list, list[bytes]]]:  # type: ignore[type-arg]
        """(term, its documents, weights, values), terms in byte order. Turned into Python
        objects GROUP_POSTINGS at a time: a 50,000-paper segment's abstracts at once took
        ~600 MB of ints, floats and bytes. `keep`: given the sorted postings with positions
        first (see positions.Gatherer.add)."""
        count = len(self.terms)
        order = sorted(range(count), key=self.terms.__getitem__)
        # (32-bit throughout, and each flat array let go once what it gives is made: a
        # 30,000-paper segment's abstracts have ~4M postings, 16 MB an array of them)
        rank = np.empty(count, dtype=np.int32)
        rank[order] = np.arange(count, dtype=np.int32)
        ranks = rank[np.frombuffer(self.term, dtype=np.int32)]
        del rank
        self.term = array("i")
        perm = np.argsort(ranks, kind="stable").astype(np.int32)
        ranks = ranks[perm]
        bounds = [0, *(np.flatnonzero(ranks[1:] != ranks[:-1]) + 1).tolist(), len(ranks)]
        del ranks
        all_docs = self._doc_of_each()
        self.docnums, self.ends = array("i"), array("i")
        all_docs = all_docs[perm]
        if self.boost is not None:
            freqs = np.frombuffer(self.freq, dtype=_NUMPY_TYPES[self.freq.typecode])
            all_counts = freqs[perm]
            starts = np.cumsum(freqs, dtype=np.int32)
            starts -= freqs
            del freqs
            self.freq = array("H")
            all_starts = starts[perm]
            del starts, perm  # (only the values of fields without positions are picked through it)
        if keep is not None and self.boost is not None:
            keep(
                self.terms,
                order,
                bounds,
                all_docs,
                all_starts,
                all_counts,
                np.frombuffer(self.pos, dtype=_NUMPY_TYPES[self.pos.typecode]),
            )
        terms = self.terms
        g = 0
        while g < len(bounds) - 1:
            # The next groups up to GROUP_POSTINGS postings (one bigger group whole).
            h = g + 1
            limit = bounds[g] + GROUP_POSTINGS
            while h < len(bounds) - 1 and bounds[h + 1] <= limit:
                h += 1
            lo, hi = bounds[g], bounds[h]
            docs = all_docs[lo:hi].tolist()
            if self.boost is not None:  # positions kept flat: encoded now, as Positions.encode
                weights = (all_counts[lo:hi].astype(np.float64) * self.boost).tolist()
                pos = self.pos
                single = _SINGLE
                values = [
                    (single.get(pos[a]) or _one_position(pos[a]))
                    if n == 1
                    else _encode_positions(pos[a : a + n].tolist())
                    for a, n in zip(
                        all_starts[lo:hi].tolist(), all_counts[lo:hi].tolist(), strict=True
                    )
                ]
            else:
                picked = perm[lo:hi].tolist()
                weights = [self.weights[i] for i in picked]
                values = [self.values[i] for i in picked]
            for k in range(g, h):
                a, b = bounds[k] - lo, bounds[k + 1] - lo
                yield terms[order[k]], docs[a:b], weights[a:b], values[a:b]
            g = h


class SegmentBuilder:
    """Documents (as `add_document` takes them) gathered in memory, then written as one
    segment of an index's storage. `like`: a builder whose word analyses to reuse."""

    def __init__(  # type: ignore[no-untyped-def]
        self,
        schema,
        storage=None,
        codec=None,
        indexname: str = "",
        like: SegmentBuilder | None = None,
    ) -> None:
        self.schema = schema
        self.docs = 0
        self.postings: dict[str, _Postings] = {}
        self.spelling: dict[str, Counter[str]] = {}  # spelling field -> word -> documents
        self._text: dict[str, _TextAnalysis | None] = like._text if like is not None else {}
        # Per segment: raw word -> (its term numbers, first position, spelling words)
        self._words: dict[str, dict[str, tuple[tuple[int, ...], int, tuple[str, ...]]]] = {}
        # Stored fields, lengths and columns go to the segment's files as documents come.
        self.storage = storage
        self.segment = codec.new_segment(storage, indexname) if storage is not None else None
        self._perdoc = codec.per_document_writer(storage, self.segment) if storage else None
        self.codec = codec
        self.lengths: dict[str, array] = {}  # field -> each document's length, as stored

    def _analysis(self, name: str, field) -> _TextAnalysis | None:  # type: ignore[no-untyped-def]
        if name not in self._text:
            self._text[name] = _TextAnalysis.make(field)
        return self._text[name]

    def _entry(self, name: str, analysis: _TextAnalysis, postings: _Postings, raw: str):  # type: ignore[no-untyped-def]
        texts, first, plain = analysis.word(raw)
        number = postings.number
        entry = (tuple(number(t.encode("utf-8")) for t in texts), first, plain)
        known = self._words[name]
        if len(known) < SEGMENT_WORDS:
            known[raw] = entry
        return entry

    def add(self, doc: dict[str, object]) -> None:
        schema = self.schema
        docnum = self.docs
        perdoc = self._perdoc
        perdoc.start_doc(docnum)  # type: ignore[union-attr]
        for name in sorted(n for n in doc if not n.startswith("_")):
            value = doc[name]
            if value is None:
                continue
            field = schema[name]
            length = 0
            if field.indexed:
                spell_name = field.spelling_fieldname(name) if field.separate_spelling() else None
                fast = self._analysis(name, field) if isinstance(value, str) else None
                postings = self.postings.get(name)
                if postings is None:
                    postings = self.postings[name] = _Postings(fast.boost if fast else None)
                    self._words[name] = {}
                if fast is not None:
                    length = self._add_text(name, fast, postings, value, docnum, spell_name)
                else:
                    scorable = field.scorable
                    number = postings.number
                    for tbytes, freq, weight, vbytes in field.index(value):
                        postings.term.append(number(tbytes))
                        postings.weights.append(weight)
                        postings.values.append(vbytes)
                        if scorable:
                            length += freq
                    postings.end_doc(docnum)
                    if spell_name:
                        words = self.spelling.get(spell_name)
                        if words is None:
                            words = self.spelling[spell_name] = Counter()
                        words.update(field.spellable_words(value))
            stored = doc.get(f"_stored_{name}", value)
            perdoc.add_field(name, field, stored if field.stored else None, length)
            if length:
                found = self.lengths.get(name)
                if found is None:
                    found = self.lengths[name] = array("I")
                if len(found) < docnum:
                    found.extend(repeat(0, docnum - len(found)))
                found.append(byte_to_length(length_to_byte(length)))
            if field.column_type and stored is not None:
                perdoc.add_column_value(name, field.column_type, field.to_column_value(stored))
        perdoc.finish_doc()
        self.docs += 1

    def _add_text(  # type: ignore[no-untyped-def]
        self,
        name: str,
        fast: _TextAnalysis,
        postings: _Postings,
        value: str,
        docnum: int,
        spell_name,
    ) -> int:
        """A fast text field's postings for one document; returns the field's length."""
        raws = fast.pattern.findall(value)
        known = self._words[name]
        get = known.get
        entries = [get(r) or self._entry(name, fast, postings, r) for r in raws]
        if spell_name:
            words = self.spelling.get(spell_name)
            if words is None:
                words = self.spelling[spell_name] = Counter()
            words.update(set(chain.from_iterable([e[2] for e in entries])))
        first = 0
        for entry in entries:
            if entry[0]:
                break
            first += 1
        else:
            return 0
        pos = entries[first][1]
        if first:  # stop words first: the positions they took (see _TextAnalysis.width)
            pos += sum(fast.width(r) for r in raws[:first])
        terms = list(chain.from_iterable([e[0] for e in entries[first:]]))
        postings.fit(pos + len(terms))
        poses: dict[int, list[int]] = {}
        for at, term in enumerate(terms, pos):
            found = poses.get(term)
            if found is None:
                poses[term] = [at]
            else:
                found.append(at)
        postings.term.extend(poses.keys())
        postings.end_doc(docnum)
        found_lists = poses.values()
        postings.freq.extend(map(len, found_lists))
        postings.pos.extend(chain.from_iterable(found_lists))  # (encoded at write)
        return len(terms) if fast.scorable else 0

    def __len__(self) -> int:
        return self.docs

    def word_caches(self) -> bytes:
        """Each word's analysis made so far (stem, positions taken, spelling words), for a
        builder in another process (use_word_caches): a word is analysed once per worker,
        not once per segment."""
        return dumps(
            {name: (a.cache, a.stems, a.widths) for name, a in self._text.items() if a is not None}
        )

    def use_word_caches(self, pickled: bytes) -> None:
        """The word analyses another builder made (word_caches), made here before any
        document: they fill a few of Python's arenas of their own, not ones a segment's
        objects share."""
        for name, caches in (loads(pickled) if pickled else {}).items():
            analysis = self._analysis(name, self.schema[name])
            if analysis is not None:
                analysis.cache, analysis.stems, analysis.widths = caches

    # -- writing -------------------------------------------------------------------------------
    def write(self):  # type: ignore[no-untyped-def]
        """Write the gathered postings and close the segment's files; returns the segment
        (not yet in any TOC)."""
        storage, codec, segment = self.storage, self.codec, self.segment
        self._words = {}  # (the segment's word look-ups: not needed to write, ~100 MB at 50,000)
        for postings in self.postings.values():
            postings.numbers = {}  # (each term's number: only adding needs them)
        self._perdoc.close()  # type: ignore[union-attr]
        lengths = self.lengths
        for found in lengths.values():
            found.extend(repeat(0, self.docs - len(found)))
        fields = codec.field_writer(storage, segment)
        postfile = fields._postfile
        tindex = w3write.TermTable(fields._tindex)
        names = {name for name, postings in self.postings.items() if postings}
        kept = positions.Gatherer()  # common words' positions, for the segment's own file
        for name in sorted(names | {name for name, words in self.spelling.items() if words}):
            field = self.schema[name]
            fields.start_field(name, field)
            prefix = pack_ushort(fields._fieldid)
            fixed = field.format.fixed_value_size()
            dfl = lengths.get(name)
            if name in names:
                keep = partial(kept.add, name) if name in positions.FIELDS else None
                for term, ids, weights, values in self.postings[name].grouped(keep):
                    offset = postfile.tell()
                    data, info = w3write.posting_list(ids, weights, values, dfl, fixed, offset)
                    postfile.write(data)
                    tindex.add(prefix + term, info)
            else:  # a spelling field: one posting at document 0 for each document with the word
                counts = self.spelling[name]
                # (Whoosh gives these postings the last value of the field they come from,
                # which only a merge reads: they are written as a frequency of 1)
                one = pack_uint(1)[:fixed] if fixed else b""  # (Frequency: pack_uint(freq))
                lists: dict[int, tuple[bytes, bytes]] = {}  # documents -> (list, info head)
                for word, count in sorted((w.encode("utf-8"), n) for w, n in counts.items()):
                    # (the list depends on the count alone: built once per count)
                    found = lists.get(count)
                    if found is None:
                        data, info = w3write.posting_list(
                            [0] * count, [1] * count, [one] * count, None, fixed, 0
                        )
                        found = lists[count] = (data, info[: -w3write.TERM_TAIL.size])
                    offset = postfile.tell()
                    postfile.write(found[0])
                    tindex.add(
                        prefix + word, found[1] + w3write.TERM_TAIL.pack(offset, len(found[0]))
                    )
            tindex.flush()
            fields.finish_field()
        fields.close()
        self.postings = {}
        self.spelling = {}
        segment.set_doc_count(self.docs)
        if segment.should_assemble():
            segment.create_compound_file(storage)
            segment.compound = True
        folder = getattr(storage, "folder", None)  # (after the compound file: not in it)
        if folder is not None:
            with suppress(OSError):  # only a cache (see positions.py)
                kept.write(folder, segment.segment_id(), self.docs)
        return segment


def build_segment(schema, docs: Iterable[dict[str, object]], storage, codec, indexname: str):  # type: ignore[no-untyped-def]
    builder = SegmentBuilder(schema, storage, codec, indexname)
    for doc in docs:
        builder.add(doc)
    return builder.write()
