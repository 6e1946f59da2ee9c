"""A seeded generator of arXiv-like papers for benchmarks.

Abstracts come from a word bigram chain over the 98 sample abstracts (data/hf-daily-papers.txt),
with a Zipf-distributed sprinkle of made-up rare words (system names, acronyms) so the
vocabulary keeps growing with the library the way a real one does (Heaps' law): prefix, fuzzy
and spelling look-ups are only honest against a realistic term dictionary.

    python bench/corpus.py --count 20000 --jsonl bench/out/snapshot-20k.jsonl
    python bench/corpus.py --count 10000 --library bench/libraries/10k
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from paperreader.core import importers
from paperreader.core.library import SAMPLE_REFERENCE_DATE, Library, sample_path
from paperreader.core.models import Paper

FIRST = [
    "Wei",
    "Li",
    "Jun",
    "Yan",
    "Xin",
    "Hao",
    "Ming",
    "Yu",
    "Jing",
    "Lei",
    "Hui",
    "Ying",
    "Chen",
    "Zhi",
    "Tao",
    "Ji-Woo",
    "Min-Jun",
    "Seo-yeon",
    "Hiroshi",
    "Yuki",
    "Haruto",
    "Sakura",
    "Arjun",
    "Priya",
    "Rahul",
    "Ananya",
    "Vikram",
    "Deepa",
    "Mohammed",
    "Fatima",
    "Omar",
    "Layla",
    "Ahmed",
    "Yusuf",
    "Emre",
    "Çağrı",
    "Ayşe",
    "Oğuz",
    "José",
    "María",
    "Ángel",
    "Sofía",
    "Lucía",
    "Andrés",
    "Joaquín",
    "João",
    "Conceição",
    "François",
    "Hélène",
    "Amélie",
    "Jérôme",
    "Noël",
    "Zoë",
    "Chloé",
    "Jürgen",
    "Björn",
    "Jörg",
    "Günther",
    "Käthe",
    "Søren",
    "Åsa",
    "Øystein",
    "Ingrid",
    "Łukasz",
    "Paweł",
    "Małgorzata",
    "Wojciech",
    "Tomáš",
    "Jiří",
    "Dvořák",
    "Nikola",
    "Dragan",
    "Ivan",
    "Olga",
    "Dmitri",
    "Anastasia",
    "Sergei",
    "Yevgeny",
    "Giulia",
    "Matteo",
    "Lorenzo",
    "Francesca",
    "Niccolò",
    "Pieter",
    "Sanne",
    "Bram",
    "John",
    "Mary",
    "James",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Susan",
    "Thomas",
    "Sarah",
    "Daniel",
    "Karen",
    "Matthew",
    "Emily",
    "Andrew",
    "Jessica",
    "Joshua",
    "Ashley",
    "Kevin",
    "Amanda",
    "Brian",
    "Nicole",
    "Kwame",
    "Ama",
    "Chidi",
    "Ngozi",
    "Thabo",
    "Amara",
    "Nguyễn",
    "Thị",
    "Minh",
    "Anh",
    "Quang",
]
LAST = [
    "Zhang",
    "Wang",
    "Li",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "He",
    "Lin",
    "Luo",
    "Gao",
    "Kim",
    "Lee",
    "Park",
    "Choi",
    "Jung",
    "Kang",
    "Cho",
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Sato",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
    "Sharma",
    "Patel",
    "Singh",
    "Kumar",
    "Gupta",
    "Reddy",
    "Iyer",
    "Nair",
    "Banerjee",
    "Chatterjee",
    "Khan",
    "Hassan",
    "Ali",
    "Haddad",
    "Yılmaz",
    "Kaya",
    "Şahin",
    "Çelik",
    "Öztürk",
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Muñoz",
    "Peña",
    "Ibáñez",
    "Gonçalves",
    "Araújo",
    "Conceição",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schäfer",
    "Köhler",
    "Groß",
    "Jäger",
    "Dubois",
    "Lefèvre",
    "Girard",
    "Bézier",
    "Mercier",
    "Fontaine",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Bruno",
    "Nováková",
    "Dvořák",
    "Černý",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Wójcik",
    "Lewandowski",
    "Ivanov",
    "Smirnov",
    "Kuznetsov",
    "Popov",
    "Sokolov",
    "Petrov",
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Ødegaard",
    "Håkansson",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "O'Brien",
    "Okafor",
    "Mensah",
    "Nkosi",
    "Adeyemi",
    "Nguyen",
    "Tran",
    "Pham",
    "Hoang",
    "Vu",
    "Đặng",
    "Bùi",
    "Ramírez",
    "Díaz",
    "Cruz",
    "Morales",
]
CATEGORIES = [
    ("cs.CL", 14),
    ("cs.LG", 16),
    ("cs.CV", 14),
    ("cs.AI", 9),
    ("stat.ML", 6),
    ("cs.RO", 3),
    ("cs.IR", 2),
    ("cs.DC", 2),
    ("cs.CR", 2),
    ("cs.SE", 2),
    ("cs.HC", 1),
    ("cs.NE", 1),
    ("eess.IV", 2),
    ("eess.AS", 1),
    ("math.OC", 2),
    ("math.ST", 1),
    ("q-bio.QM", 1),
    ("physics.comp-ph", 1),
    ("quant-ph", 2),
    ("hep-ph", 2),
    ("astro-ph.CO", 1),
    ("cond-mat.stat-mech", 1),
]
_TOKEN = re.compile(r"\S+")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def sample_papers() -> list[Paper]:
    return [
        p
        for p in importers.read_records(sample_path(), "hfpage", reference=SAMPLE_REFERENCE_DATE)
        if isinstance(p, Paper)
    ]


class Corpus:
    """Deterministic for a given seed: paper n is the same whatever else is generated."""

    def __init__(self, seed: int = 1, rare_words: int = 300_000) -> None:
        self.seed = seed
        self.sample = sample_papers()
        rng = random.Random(seed)
        self.chain = _bigrams(p.abstract for p in self.sample)
        self.starts = [w for w in self.chain if w[:1].isupper()]
        self.title_chain = _bigrams(p.title for p in self.sample)
        self.title_starts = [t.split()[0] for t in (p.title for p in self.sample) if t.split()]
        self.rare = _pseudo_words(rng, self.chain, rare_words)
        # The sample's own system names (TEMPI, VBench++, ...) are swapped for made-up ones as
        # the chains produce them: copied into thousands of papers they stopped being the
        # rare, telling words a known-item search for the sample paper relies on.
        self.names = _sample_names(self.sample)
        self.cats = [c for c, w in CATEGORIES for _ in range(w)]
        # arXiv's yearly volume grows: weight recent years more (roughly 2x every 6 years).
        self.years = list(range(2007, 2027))
        self.year_weights = [2 ** ((y - 2007) / 6) for y in self.years]

    # -- one paper ---------------------------------------------------------------------------
    def paper(self, n: int) -> Paper:
        rng = random.Random(self.seed * 1_000_003 + n)
        published = self._date(rng)
        arxiv_id = f"{published:%y%m}.{(n % 90000) + 10000:05d}"
        title = self._title(rng)
        authors = [
            self._author(rng) for _ in range(max(1, min(30, int(rng.expovariate(1 / 4)) + 1)))
        ]
        abstract = self._abstract(rng, max(400, min(2600, int(rng.gauss(1200, 280)))))
        cats = list(
            dict.fromkeys(rng.choice(self.cats) for _ in range(rng.choice((1, 1, 2, 2, 3))))
        )
        return Paper(
            id=arxiv_id,
            title=title,
            authors=authors,
            abstract=abstract,
            published=published,
            arxiv_id=arxiv_id,
            url=f"https://arxiv.org/abs/{arxiv_id}",
            pdf_url=f"https://arxiv.org/pdf/{arxiv_id}",
            code_url=f"https://github.com/{authors[0].split()[-1].lower()}/{title.split()[0].strip(':').lower()}"
            if rng.random() < 0.15
            else None,
            categories=cats,
            source="bench",
        )

    def _date(self, rng: random.Random) -> date:
        year = rng.choices(self.years, self.year_weights)[0]
        start = date(year, 1, 1)
        last = min(date(year, 12, 31), SAMPLE_REFERENCE_DATE - timedelta(days=1))
        return start + timedelta(days=rng.randrange(max(1, (last - start).days + 1)))

    def _rare(self, rng: random.Random) -> str:
        # Log-uniform index: a Zipf-like spread, a few rare words common, most seen once or twice.
        return self.rare[int(len(self.rare) ** rng.random()) - 1]

    def _title(self, rng: random.Random) -> str:
        words = []
        if rng.random() < 0.45:
            name = self._rare(rng)
            words.append(name[:1].upper() + name[1:] + ":")
        word = rng.choice(self.title_starts)
        for _ in range(rng.randint(5, 13)):
            words.append(self._unnamed(word, rng))
            nexts = self.title_chain.get(word)
            if not nexts:
                break
            word = rng.choice(nexts)
        if rng.random() < 0.3:
            words.insert(rng.randrange(1, len(words) + 1), self._rare(rng))
        return " ".join(words).rstrip(":,;")

    def _unnamed(self, word: str, rng: random.Random) -> str:
        core = word.strip(_PUNCT)
        if core not in self.names:
            return word
        return word.replace(core, self._rare(rng), 1)

    def _author(self, rng: random.Random) -> str:
        # Zipf-ish surnames: a few very prolific authors, many rare ones.
        last = LAST[int(len(LAST) ** rng.random()) - 1]
        first = rng.choice(FIRST)
        if rng.random() < 0.2:
            first = f"{first} {rng.choice('ABCDEFGHJKLMNPRST')}."
        if rng.random() < 0.1:
            last = f"{last}-{rng.choice(LAST)}"
        return f"{first} {last}"

    def _abstract(self, rng: random.Random, target: int) -> str:
        out: list[str] = []
        size = 0
        word = rng.choice(self.starts)
        while True:
            token = self._unnamed(word, rng) if rng.random() > 0.025 else self._rare(rng)
            out.append(token)
            size += len(token) + 1
            if size >= target and word.endswith("."):
                break
            nexts = self.chain.get(word)
            word = rng.choice(nexts) if nexts else rng.choice(self.starts)
            if size > target + 400:  # no sentence end in sight: close it here
                out.append(word.rstrip(".,;:") + ".")
                break
        return " ".join(out)

    # -- many papers -------------------------------------------------------------------------
    def papers(self, count: int, *, with_sample: bool = True) -> Iterator[Paper]:
        """`count` papers in all; the 98 sample papers are spread evenly among generated ones."""
        sample = self.sample if with_sample else []
        every = max(1, count // (len(sample) + 1)) if sample else 0
        si = 0
        seen: set[str] = set()
        n = 0
        produced = 0
        while produced < count:
            if sample and si < len(sample) and produced % every == every // 2:
                yield sample[si]
                si += 1
                produced += 1
                continue
            paper = self.paper(n)
            n += 1
            if paper.id in seen:  # same month and sequence number: bump the number
                paper.id = paper.arxiv_id = _bump(paper.id, seen)
                paper.url = f"https://arxiv.org/abs/{paper.id}"
                paper.pdf_url = f"https://arxiv.org/pdf/{paper.id}"
            seen.add(paper.id)
            yield paper
            produced += 1


_PUNCT = ".,;:()[]\"'"


def _sample_names(sample: list[Paper]) -> set[str]:
    """Name-like words (inner capitals or digits: TEMPI, FlashAttention-2, VBench++; or
    capitalised and never written in lower case) of at most two sample papers; common
    acronyms (LLMs, GPU) are vocabulary and stay."""
    papers_with: dict[str, int] = defaultdict(int)
    for paper in sample:
        text = f"{paper.title} {paper.abstract}"
        for word in {token.strip(_PUNCT) for token in _TOKEN.findall(text)}:
            papers_with[word] += 1
    lower = {word.lower() for word in papers_with if word.islower()}
    return {
        word
        for word, count in papers_with.items()
        if count <= 2
        and (
            any(c.isupper() for c in word[1:])
            or any(c.isdigit() for c in word)
            or (word[:1].isupper() and word.lower() not in lower)  # Superpipeline
        )
    }


def _bump(arxiv_id: str, seen: set[str]) -> str:
    month, number = arxiv_id.split(".")
    value = int(number)
    while f"{month}.{value:05d}" in seen:
        value = value + 1 if value < 99999 else 10000
    return f"{month}.{value:05d}"


def _bigrams(texts: Iterator[str] | list[str] | object) -> dict[str, list[str]]:
    chain: dict[str, list[str]] = defaultdict(list)
    for text in texts:  # type: ignore[attr-defined]
        tokens = _TOKEN.findall(text)
        for a, b in zip(tokens, tokens[1:], strict=False):
            chain[a].append(b)
    return dict(chain)


def _pseudo_words(rng: random.Random, chain: dict[str, list[str]], count: int) -> list[str]:
    """Made-up words from syllables of the sample's words, some shaped like model names."""
    words = [re.sub(r"[^a-z]", "", w.lower()) for w in chain]
    syllables = sorted(
        {w[i : i + 3] for w in words if len(w) >= 4 for i in range(0, len(w) - 2, 3)}
    )
    out: list[str] = []
    seen: set[str] = set(words)
    while len(out) < count:
        word = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        roll = rng.random()
        if roll < 0.15:
            word = word.capitalize() + rng.choice(("", "Net", "LM", "GPT", "Former", "-7B", "-2"))
        elif roll < 0.22:
            word = word[: rng.randint(2, 5)].upper()
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


# -- outputs ------------------------------------------------------------------------------------
def snapshot_line(paper: Paper, rng: random.Random) -> str:
    """One line of the Kaggle arXiv metadata snapshot for this paper."""
    created = paper.published or date(2020, 1, 1)
    stamp = (
        f"{DAYS[created.weekday()]}, {created.day} {MONTHS[created.month - 1]} {created.year} "
        f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d} GMT"
    )
    versions = [{"version": "v1", "created": stamp}]
    if rng.random() < 0.4:
        versions.append({"version": "v2", "created": stamp})
    names = paper.authors or ["Anonymous"]
    parsed = [[n.rsplit(" ", 1)[-1], n.rsplit(" ", 1)[0] if " " in n else "", ""] for n in names]
    authors = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
    record = {
        "id": paper.arxiv_id or paper.id,
        "submitter": names[0],
        "authors": authors,
        "title": _wrap(paper.title, 70, "\n  "),
        "comments": f"{rng.randint(6, 40)} pages, {rng.randint(1, 15)} figures"
        + (f"; code: {paper.code_url}" if paper.code_url else ""),
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": " ".join(paper.categories or ["cs.LG"]),
        "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
        "abstract": "  " + _wrap(paper.abstract, 78, "\n") + "\n",
        "versions": versions,
        "update_date": created.isoformat(),
        "authors_parsed": parsed,
    }
    return json.dumps(record, ensure_ascii=True)


def _wrap(text: str, width: int, joiner: str) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return joiner.join(lines)


def write_snapshot(path: Path, count: int, *, seed: int = 1, corpus: Corpus | None = None) -> int:
    corpus = corpus or Corpus(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for _i, paper in enumerate(corpus.papers(count, with_sample=False)):
            if paper.arxiv_id is None:
                continue
            fh.write(snapshot_line(paper, rng) + "\n")
    return count


def build_library(
    root: Path, count: int, *, seed: int = 1, corpus: Corpus | None = None, say=print
) -> float:
    """A library of `count` papers (the sample mixed in) through `Library.add_papers`;
    returns papers per second of the whole build (records + index)."""
    corpus = corpus or Corpus(seed)
    started = time.perf_counter()
    last = [started]

    def progress(done: int, _total: int | None) -> None:
        now = time.perf_counter()
        if now - last[0] > 10:
            say(f"  {done:,} papers, {done / (now - started):,.0f}/s")
            last[0] = now

    with Library(root, seed=False) as lib:
        lib.add_papers(corpus.papers(count), progress=progress)
        lib.records.set_meta("seeded", "1")
    return count / (time.perf_counter() - started)


def build_library_fast(
    root: Path, count: int, *, seed: int = 1, corpus: Corpus | None = None, say=print
) -> dict[str, float]:
    """A library of `count` papers: records written straight to SQLite (they are new and
    unique, so no merging is needed), then one full index rebuild. Returns the rates."""
    corpus = corpus or Corpus(seed)
    started = time.perf_counter()
    with Library(root, seed=False) as lib:
        batch: list[Paper] = []
        for paper in corpus.papers(count):
            batch.append(paper)
            if len(batch) >= 5000:
                with lib.records.batch():
                    for p in batch:
                        lib.records.put(p)
                batch = []
        with lib.records.batch():
            for p in batch:
                lib.records.put(p)
        lib.records.set_meta("seeded", "1")
        records_s = time.perf_counter() - started
        say(f"  records: {count:,} in {records_s:.1f} s")
        t0, c0 = time.perf_counter(), time.process_time()
        last = [t0]

        def progress(done: int, total: int | None) -> None:
            now = time.perf_counter()
            if now - last[0] > 15:
                say(f"  indexed {done:,}/{total or count:,}, {done / (now - t0):,.0f}/s")
                last[0] = now

        indexed = lib.reindex(progress)
        index_s, index_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "papers": indexed,
        "records_s": round(records_s, 2),
        "index_s": round(index_s, 2),
        "index_cpu_s": round(index_cpu, 2),
        "index_rate": round(indexed / index_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jsonl", type=Path, help="write an arXiv-snapshot-style JSON Lines file")
    ap.add_argument("--library", type=Path, help="build a library folder (sample mixed in)")
    ap.add_argument(
        "--fast", action="store_true", help="records straight to SQLite, then one reindex"
    )
    args = ap.parse_args(argv)
    corpus = Corpus(args.seed)
    if args.jsonl:
        started = time.perf_counter()
        write_snapshot(args.jsonl, args.count, seed=args.seed, corpus=corpus)
        print(
            f"wrote {args.count:,} records to {args.jsonl} in {time.perf_counter() - started:.1f} s"
        )
    if args.library and args.fast:
        print(build_library_fast(args.library, args.count, seed=args.seed, corpus=corpus))
    elif args.library:
        rate = build_library(args.library, args.count, seed=args.seed, corpus=corpus)
        print(f"built {args.library} with {args.count:,} papers at {rate:,.0f} papers/s")
    if not (args.jsonl or args.library):
        for paper in corpus.papers(min(args.count, 3)):
            print(json.dumps(paper.to_dict(), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
