"""Every command of the CLI contract, run in-process on a copy of the sample library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from paperreader.cli import main
from paperreader.core.library import Library


def store_file(library_path: Path, paper_id: str) -> dict:  # type: ignore[type-arg]
    from paperreader.core.store import file_name

    return yaml.safe_load((library_path / "store" / file_name(paper_id)).read_text())


def test_search_json_is_one_document_with_the_contract_fields(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("search", "latent diffusion", "--limit", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total"] >= 3 and len(data["hits"]) == 3
    hit = data["hits"][0]
    assert set(hit) >= {"id", "title", "authors", "date", "score", "bookmarked", "tags", "matches"}
    assert hit["title"].startswith("High-Resolution Image Synthesis")
    assert {m["text"].lower() for m in hit["matches"]["title"]} == {"latent", "diffusion"}


def test_search_text_and_did_you_mean(run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("search", "gausian splatting", "--limit", "1")
    assert code == 0 and "4D Gaussian Splatting" in out
    assert 'showing results for "gaussian splatting"' in err


def test_show_and_similar(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("show", "gptq", "--json")
    paper = json.loads(out)
    assert code == 0 and paper["title"].startswith("GPTQ") and "code" in paper["links"]
    code, out, _ = run("show", "gptq")
    assert out.startswith("GPTQ: Accurate Post-Training Quantization")
    code, out, _ = run("similar", paper["id"], "--limit", "3", "--json")
    similar = json.loads(out)
    assert code == 0 and len(similar) == 3 and paper["id"] not in [s["id"] for s in similar]


def test_bookmark_tag_mark_note_change_the_yaml(run, library_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = run("show", "gptq", "--json")
    pid = json.loads(out)["id"]
    assert run("bookmark", pid)[0] == 0
    assert run("tag", pid, "Quantization", "to-read")[0] == 0
    assert run("mark", pid, "reading")[0] == 0
    assert run("note", pid, "--set", "first line")[0] == 0
    assert run("note", pid, "--append", "second thought")[0] == 0
    data = store_file(library_path, pid)
    assert data["bookmarked"] is True and data["state"] == "reading"
    assert data["tags"] == ["quantization", "to-read"]
    assert data["note"]["text"] == "first line\n\nsecond thought"
    assert run("note", pid)[1] == "first line\n\nsecond thought\n"
    code, out, _ = run("bookmarks", "--json")
    assert [b["id"] for b in json.loads(out)] == [pid]
    assert run("tag", pid, "to-read", "--remove")[0] == 0
    assert run("bookmark", pid, "--remove")[0] == 0
    data = store_file(library_path, pid)
    assert data["bookmarked"] is False and data["tags"] == ["quantization"]
    assert json.loads(run("bookmarks", "--json")[1]) == []


def test_note_edit_uses_the_editor(run, library_path: Path, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "written in the editor\\n" >> "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    _, out, _ = run("show", "gptq", "--json")
    pid = json.loads(out)["id"]
    run("note", pid, "--set", "before")
    code, out, _ = run("note", pid, "--edit")
    assert code == 0 and "note saved" in out
    # The file ends with a newline (as editors expect); the one added is taken off again.
    assert store_file(library_path, pid)["note"]["text"] == "before\nwritten in the editor"


def test_export_filters_and_round_trip(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_file = tmp_path / "all.jsonl"
    assert run("export", "--format", "jsonl", "-o", str(out_file))[0] == 0
    assert len(out_file.read_text().splitlines()) == 98
    _, out, _ = run("export", "--query", "quantization", "--format", "json")
    assert len(json.loads(out)) >= 5
    run("bookmark", "gptq")
    _, out, _ = run("export", "--bookmarked", "--format", "markdown")
    assert out.count("\n## ") == 1
    other = tmp_path / "other"
    code = main(["import", str(out_file), "--library", str(other)])
    assert code == 0
    assert main(["check", "--library", str(other)]) == 0


def test_import_reports_counts_and_bad_files(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "papers.jsonl"
    good.write_text(
        json.dumps({"id": "2501.00001", "title": "New", "source": "jsonl"}) + "\n"
        "{not json\n" + json.dumps({"id": "2501.00002", "title": "", "source": "jsonl"}) + "\n"
    )
    code, out, _ = run("import", str(good))
    assert code == 0 and "1 added, 0 updated, 0 unchanged, 2 skipped" in out
    assert f"{good}:2" in out
    binary = tmp_path / "x.pdf"
    binary.write_bytes(b"%PDF\x00\x01\x02")
    code, _, err = run("import", str(binary))
    assert (
        code == 1 and err.strip() == f"paperreader: {binary}: looks like a binary file, not papers"
    )
    code, _, err = run("import", str(tmp_path / "missing.bib"))
    assert code == 1 and "missing.bib: cannot read" in err and err.count("\n") == 1


def test_a_new_librarys_first_import_indexes_the_sample_with_its_papers(tmp_path: Path) -> None:
    """A new library's sample is left queued for the import's own indexing (not indexed alone
    first): after the import every paper is searchable; after a failed import, the sample."""
    good = tmp_path / "papers.jsonl"
    good.write_text(
        "".join(
            json.dumps({"id": f"2501.{n:05d}", "title": f"Zyxwv paper {n}", "source": "jsonl"})
            + "\n"
            for n in range(3)
        )
    )
    for name, path, code in (("new", good, 0), ("other", tmp_path / "missing.jsonl", 1)):
        assert main(["import", str(path), "--library", str(tmp_path / name)]) == code
        with Library(tmp_path / name, seed=False) as lib:
            assert lib.unindexed_count() == 0
            assert lib.search("zyxwv").total == (3 if code == 0 else 0)
            assert lib.search("").total == lib.records.count() >= 98 + (3 if code == 0 else 0)
            assert lib.check() == []


def test_errors_are_one_line_never_a_traceback(run) -> None:  # type: ignore[no-untyped-def]
    for argv, exit_code in (
        (("show", "no-such-id"), 1),
        (("search", "is:nonsense"), 2),  # an invalid query is a usage error
        (("bookmark", "zzz-none"), 1),
    ):
        code, out, err = run(*argv)
        assert code == exit_code and out == ""
        assert err.count("\n") == 1 and "Traceback" not in err


def test_reindex_and_check(run, library_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("reindex")
    assert code == 0 and "indexed 98 papers" in out
    assert run("check")[0] == 0
    (library_path / "store" / "bad.yaml").write_text("id: bad\nstate: [\n")
    code, out, _ = run("check")
    assert code == 1 and "bad.yaml:" in out


def test_python_dash_m_with_paperreader_home(tmp_path: Path) -> None:
    env = {**os.environ, "PAPERREADER_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "paperreader", "search", "diffusion", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] > 5
    assert (tmp_path / "home" / "papers.db").exists()


def test_check_lists_and_restores_backups(run, library_path: Path) -> None:  # type: ignore[no-untyped-def]
    from paperreader.core.library import Library

    run("tag", "gptq", "before")
    with Library(library_path) as lib:
        name = lib.backup("test").name
    run("tag", "gptq", "before", "--remove")
    code, out, _ = run("check", "--backups")
    assert code == 0 and name in out.split()
    code, out, _ = run("check", "--restore", name)
    assert code == 0 and "restored 1" in out
    assert json.loads(run("search", "tag:before", "--json")[1])["total"] == 1
    code, _, err = run("check", "--restore", "no-such-backup")
    assert code == 1 and err.count("\n") == 1


def test_the_cli_package_has_no_import_cycle() -> None:
    """The command modules import what they share from `cli.common`, never the package that
    imports them; each loads on its own, and both entry points still work."""
    import ast

    package = Path(__file__).resolve().parents[2] / "src" / "paperreader" / "cli"
    for module in package.glob("*.py"):
        if module.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            assert "paperreader.cli" not in names, f"{module.name} imports paperreader.cli"
    env = {**os.environ, "PYTHONPATH": str(package.parents[1])}
    for code in ("import paperreader.cli.fetch", "import paperreader.cli.commands"):
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
    out = subprocess.run(
        [sys.executable, "-m", "paperreader", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert out.startswith("paperreader ")


def test_help_shows_the_library_option(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["search", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        assert "--library DIR" in capsys.readouterr().out


def test_an_ambiguous_id_prefix_names_the_papers_it_matches(  # type: ignore[no-untyped-def]
    run, library_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections import Counter

    from paperreader.core.errors import AmbiguousId
    from paperreader.core.records import Records

    records = Records(library_path / "papers.db")
    ids = sorted(r[0] for r in records.db.execute("SELECT id FROM papers"))
    records.close()
    prefix, n = Counter(i[:3] for i in ids).most_common(1)[0]
    matching = [i for i in ids if i.startswith(prefix)]
    assert n >= 4
    code, out, err = run("show", prefix)
    assert code == 2 and out == ""
    assert err == f"paperreader: {prefix!r} matches {n} papers: {', '.join(matching)}\n"
    monkeypatch.setattr(AmbiguousId, "SHOWN", 2)  # a long list is cut
    code, _, err = run("note", prefix)
    assert code == 2
    assert (
        err
        == f"paperreader: {prefix!r} matches {n} papers: {', '.join(matching[:2])} and {n - 2} more\n"
    )
    code, _, err = run("show", "zzzz-no-such-paper")
    assert code == 1 and "no paper with id 'zzzz-no-such-paper'" in err


def test_show_lists_each_url_of_a_field_that_held_several(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bib = tmp_path / "two-urls.bib"
    bib.write_text(
        "@article{k, title = {{Two pages}}, eprint = {1311.3887}, year = {2014},\n"
        "url = {http://arxiv.org/abs/1311.3887 http://scitation.aip.org/x/10.1063/1.4892761}}\n",
        encoding="utf-8",
    )
    assert run("import", str(bib))[0] == 0
    code, out, _ = run("show", "1311.3887", "--json")
    assert code == 0
    assert json.loads(out)["links"] == {
        "abstract": "https://arxiv.org/abs/1311.3887",
        "link": "http://scitation.aip.org/x/10.1063/1.4892761",
        "pdf": "https://arxiv.org/pdf/1311.3887",
    }
    code, out, _ = run("show", "1311.3887")
    assert "abstract: https://arxiv.org/abs/1311.3887\n" in out
    assert "link: http://scitation.aip.org/x/10.1063/1.4892761\n" in out


def test_progress_is_a_rich_bar_on_a_terminal_and_nothing_elsewhere() -> None:
    import io

    from rich.console import Console

    from paperreader.cli.progress import CliProgress

    screen = io.StringIO()
    progress = CliProgress(
        "indexing", delay=0, console=Console(file=screen, force_terminal=True, width=100)
    )
    with progress:
        progress(50, 200)
        progress(200, 200)
    shown = screen.getvalue()
    assert "indexing" in shown and "200/200" in shown and "100%" in shown
    pipe = io.StringIO()
    progress = CliProgress("indexing", delay=0, console=Console(file=pipe, force_terminal=False))
    progress(5, 10)
    progress.done()
    assert pipe.getvalue() == ""


def test_long_work_draws_no_progress_into_a_pipe(library_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run(
        [sys.executable, "-m", "paperreader", "reindex", "--library", str(library_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
        check=True,
    )
    assert done.stdout == "indexed 98 papers\n" and "\r" not in done.stderr


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    import re

    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    ci = (repo / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.M)
    assert command and 'eval "$TEST_COMMAND"' in ci
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    lines = [line.split("  #")[0].strip() for line in quick_start.splitlines()]
    assert command.group(1) in lines
    assert "pipx install . && paperreader" in lines  # no bare pip into the system Python
