"""The main screen's actions on the paper under the cursor: bookmark, read state, tags, note
(here or in $EDITOR), open, copy, and undo / redo of those changes. A mixin of MainScreen:
these are its `action_*` methods, kept apart from its layout, searching and paging."""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable

from textual import work
from textual.app import SuspendNotSupported

from paperreader.core.errors import PaperreaderError, StoreError
from paperreader.core.models import Note, Paper, UserData
from paperreader.core.text import strip_controls
from paperreader.editor import EditorError, edit_text
from paperreader.ui.messages import Notice, UserSaved
from paperreader.ui.screens.modals import ChoiceScreen, TagsScreen
from paperreader.ui.screens.note_editor import NoteEditor
from paperreader.ui.search_dispatch import unexpected
from paperreader.ui.undo import Undoer

# A save's notification: fixed text, or made from the saved data.
Say = str | Callable[[UserData], str] | None
_SAVE_LOCK = threading.Lock()  # one save at a time, shown in the order they were made


class PaperActions:
    undoer: Undoer

    # -- the paper ---------------------------------------------------------------------------
    def _target(self) -> str | None:
        # The list's row, read now: keys typed ahead (`jjb`) must not act on the row the
        # Highlighted message (still queued) is about to leave.
        hit = self.paper_list.current
        if not self.jumped and hit is not None and hit.id != self.current_id:
            self.show_paper(hit.id, hit)
        if self.current_id is None:
            self.say("No paper selected.", severity="warning", timeout=2)
        return self.current_id

    def _paper(self, paper_id: str) -> Paper | None:
        view = self.detail.view
        if view is not None and view.paper.id == paper_id:
            return view.paper
        try:
            return self.library.get(paper_id)
        except PaperreaderError as exc:
            self.say(str(exc), severity="error")
            return None

    def _fresh_user(self, paper_id: str) -> UserData | None:
        try:
            return self.library.user(paper_id)
        except StoreError as exc:
            self.say(str(exc), title="Cannot read this paper's notes", severity="error")
            return None

    # -- saving ------------------------------------------------------------------------------
    @work(thread=True, group="save")
    def change(
        self,
        paper_id: str,
        apply: Callable[[str], UserData],
        message: Say = None,
        label: str = "change",
    ) -> None:
        with _SAVE_LOCK:
            try:
                before = self.library.user(paper_id)
            except StoreError:
                before = None  # (the save says what is wrong with the file)
            try:
                user = apply(paper_id)
            except Exception as exc:  # PaperreaderError says what went wrong in one line
                error = str(exc) if isinstance(exc, PaperreaderError) else unexpected(exc)
                self.post_message(Notice(error, "error", "Not saved"))
                return
            if before is not None:
                self.undoer.record(user.paper_id, before, user, label)
            note = message(user) if callable(message) else (message or "")
            self.post_message(UserSaved(user, note))

    def record_change(self, paper_id: str, before: UserData, after: UserData, label: str) -> None:
        """A change made on another screen (the article view): undoable here too."""
        self.undoer.record(paper_id, before, after, label)

    def on_user_saved(self, event: UserSaved) -> None:
        event.stop()
        self.user_changed(event.user, event.note)

    def user_changed(self, user: UserData, note: str = "") -> None:
        self.paper_list.update_hit(user.paper_id, user)
        self.detail.update_user(user)
        self.refresh_counts()
        if note:
            self.say(note, timeout=2)

    def on_notice(self, event: Notice) -> None:
        event.stop()
        timeout = 8 if event.severity == "error" else 4
        self.say(event.text, title=event.title, severity=event.severity, timeout=timeout)

    # -- the changes -------------------------------------------------------------------------
    def action_bookmark(self) -> None:
        if (pid := self._target()) is not None:
            self.change(pid, self.library.toggle_bookmark, label="bookmark")

    def action_cycle_state(self) -> None:
        if (pid := self._target()) is not None:
            self.change(pid, self.library.cycle_state, label="read state")

    def action_tags(self) -> None:
        pid = self._target()
        paper = self._paper(pid) if pid else None
        user = self._fresh_user(pid) if pid else None
        if pid is None or paper is None or user is None:
            return

        def done(tags: list[str] | None) -> None:
            if tags is not None and tags != user.tags:
                self.change(pid, lambda p: self.library.set_tags(p, tags), tags_saved, "tags")

        known = sorted(self.library.tag_counts())
        self.app.push_screen(TagsScreen(strip_controls(paper.title), user.tags, known), done)

    def _save_note(self, paper_id: str, base: Note | None, text: str) -> None:
        before = base.text if base else ""
        if text == before:
            return
        apply = lambda p: self.library.set_note(p, text, base=base)  # noqa: E731
        self.change(paper_id, apply, "Note saved", "note")

    def action_note(self) -> None:
        pid = self._target()
        paper = self._paper(pid) if pid else None
        user = self._fresh_user(pid) if pid else None
        if pid is None or paper is None or user is None:
            return
        base = user.note

        def done(text: str | None) -> None:
            if text is not None:
                self._save_note(pid, base, text)

        editor = NoteEditor(pid, strip_controls(paper.title), base)
        self.app.push_screen(editor, done)

    def action_edit_external(self) -> None:
        pid = self._target()
        user = self._fresh_user(pid) if pid else None
        if pid is None or user is None:
            return
        base = user.note
        try:
            text = edit_text(base.text if base else "", around=self.app.suspend)
        except SuspendNotSupported:
            self.say("This terminal cannot run an editor; use n.", severity="warning")
            return
        except EditorError as exc:
            self.say(str(exc), severity="error")
            return
        finally:
            self.refresh(layout=True)
        self._save_note(pid, base, text)

    # -- undo --------------------------------------------------------------------------------
    def action_undo(self) -> None:
        self._undo(redo=False)

    def action_redo(self) -> None:
        self._undo(redo=True)

    @work(thread=True, group="save")
    def _undo(self, redo: bool) -> None:
        with _SAVE_LOCK:
            try:
                user, said = self.undoer.redo() if redo else self.undoer.undo()
            except Exception as exc:
                error = str(exc) if isinstance(exc, PaperreaderError) else unexpected(exc)
                self.post_message(Notice(error, "error", "Not undone"))
                return
        if user is None:
            self.post_message(Notice(said, "warning" if "changed since" in said else "information"))
        else:
            self.post_message(UserSaved(user, said))

    # -- elsewhere ---------------------------------------------------------------------------
    def action_open_link(self) -> None:
        pid = self._target()
        paper = self._paper(pid) if pid else None
        if paper is None:
            return
        links = paper.all_links()
        if not links:
            self.say("This paper has no link.", severity="warning", timeout=3)
            return
        url = next(iter(links.values()))
        self._open_url(url)
        self.say(f"Opening {url}", timeout=2)

    @work(thread=True, group="browser")
    def _open_url(self, url: str) -> None:
        try:
            webbrowser.open(url)
        except Exception as exc:  # any browser failure is only a message
            self.post_message(Notice(f"Cannot open a browser: {exc}", "error"))

    def action_copy(self) -> None:
        pid = self._target()
        paper = self._paper(pid) if pid else None
        if paper is None:
            return
        links = paper.all_links()
        choices = []
        if links:
            kind, url = next(iter(links.items()))
            choices.append(("link", f"Link ({kind}): {url}"))
        choices += [("bibtex", "BibTeX citation"), ("id", f"Id: {paper.id}")]

        def chosen(key: str | None) -> None:
            if key is None:
                return
            if key == "link":
                text, what = next(iter(links.values())), "the link"
            elif key == "bibtex":
                text, what = bibtex(paper), "the BibTeX citation"
            else:
                text, what = paper.id, "the id"
            self.app.copy_to_clipboard(text)
            self.say(f"Copied {what}.", timeout=2)

        self.app.push_screen(ChoiceScreen("Copy", choices), chosen)


def tags_saved(user: UserData) -> str:
    # The tags as saved (normalised); they are the user's text: `say` never parses markup.
    return f"Tags saved: {' '.join(f'#{t}' for t in user.tags)}" if user.tags else "Tags removed"


def bibtex(paper: Paper) -> str:
    from paperreader.core.exporters.bibtex import base_key, entry

    return entry(paper, base_key(paper))
