"""The main screen's views: sort, the view picker with counts, saving a search as a view,
marking a view read, the next unread paper. A mixin of MainScreen (its `action_*` methods);
the counts are made in a thread worker (core/views.ViewCounts caches them)."""

from __future__ import annotations

from dataclasses import replace

from textual import work

from paperreader.core.errors import PaperreaderError
from paperreader.core.models import ReadState
from paperreader.core.text import strip_controls
from paperreader.core.views import SORTS, Counts
from paperreader.ui.messages import CountsReady, Notice
from paperreader.ui.screens.modals import ConfirmScreen
from paperreader.ui.screens.view_picker import NameScreen, ViewPicker
from paperreader.ui.search_dispatch import unexpected
from paperreader.ui.widgets.top_bar import BASE_VIEWS, view_label


class ViewActions:
    counts: dict[str, Counts]
    _counting = False  # a count runs
    _count_again = False  # ... and was asked for again meanwhile

    # -- sort --------------------------------------------------------------------------------
    def effective_sort(self) -> str:
        sort = self.query_state.sort
        return "newest" if sort == "relevance" and not self.query_state.text.strip() else sort

    def action_cycle_sort(self) -> None:
        now = self.effective_sort()
        order = (
            list(SORTS) if self.query_state.text.strip() else [s for s in SORTS if s != "relevance"]
        )
        following = order[(order.index(now) + 1) % len(order)] if now in order else order[0]
        self.set_sort(following)

    def set_sort(self, sort: str) -> None:
        self.query_state = replace(self.query_state, sort=sort)
        self.update_topbar()
        self.search()
        self.say(f"Sorted by {self.effective_sort()}", timeout=2)

    # -- views -------------------------------------------------------------------------------
    def view_label(self, view: str | None = None) -> str:
        return view_label(view or self.query_state.view)

    def views(self) -> list[tuple[str, str]]:
        """(key, label) of every view: built-in, saved, then one per tag."""
        saved = []
        try:
            saved = [(v.name, f"⌕ {strip_controls(v.name)}") for v in self.library.views.list()]
        except PaperreaderError as exc:  # a broken views.yaml: say so once, list the rest
            self._report([str(exc)])
        tags = sorted(self.library.tag_counts().items())
        return [
            *BASE_VIEWS,
            *saved,
            *((f"tag:{t}", f"#{strip_controls(t)} ({n})") for t, n in tags),
        ]

    def set_view(self, view: str) -> None:
        saved = self.library.saved_view(view)
        sort = saved.sort if saved else self.query_state.sort
        self.query_state = replace(self.query_state, view=view, sort=sort)
        self.update_topbar()
        self.search()
        self._opened(view)

    @work(thread=True, group="views")
    def _opened(self, view: str) -> None:
        self.library.open_view(view)  # its "new" count starts again from now
        self.refresh_counts()

    def action_choose_view(self) -> None:
        def chosen(view: str | None) -> None:
            self.picker = None
            if view:
                self.set_view(view)

        self.picker = ViewPicker(self.views(), self.query_state.view, self.counts)
        self.app.push_screen(self.picker, chosen)
        self.refresh_counts()

    def action_next_view(self) -> None:
        keys = [key for key, _ in self.views()]
        now = self.query_state.view
        self.set_view(keys[(keys.index(now) + 1) % len(keys)] if now in keys else "all")

    # -- counts ------------------------------------------------------------------------------
    def refresh_counts(self) -> None:
        """Count every view's unread and new papers in a thread (only stale ones count). One
        count at a time: asked again meanwhile, it counts once more when done."""
        if not self.is_attached:
            return
        if self._counting:
            self._count_again = True
            return
        self._counting = True
        self._count_views()

    @work(thread=True, group="counts")
    def _count_views(self) -> None:
        try:
            counts = self.library.count_views()
        except PaperreaderError:
            counts = {}  # a damaged index or views file says so where it is used
        except Exception as exc:
            self.post_message(Notice(unexpected(exc), "error"))
            counts = {}
        self.post_message(CountsReady(counts))

    def on_counts_ready(self, event: CountsReady) -> None:
        event.stop()
        self._counting = False
        if self._count_again:
            self._count_again = False
            self.refresh_counts()
        self.counts.update(event.counts)
        if self.picker is not None and self.picker.is_attached:
            self.picker.show_counts(event.counts)

    # -- save a search, mark a view read -----------------------------------------------------
    def action_save_view(self) -> None:
        query = self.query_state.text.strip()
        if not query and self.library.saved_view(self.query_state.view) is None:
            self.say("Type a search first (/), then save it as a view.", timeout=3)
            return
        saved = self.library.saved_view(self.query_state.view)
        if saved is not None:  # a search inside a saved view: both, as one query
            query = f"({saved.query}) AND ({query})" if query else saved.query
        sort = self.effective_sort()

        def named(name: str | None) -> None:
            if name is None:
                return
            try:
                view = self.library.save_view(name, query, sort)
            except PaperreaderError as exc:
                self.say(str(exc), title="Not saved", severity="error", timeout=6)
                return
            self.say(f"Saved the view “{view.name}” (f lists it)", timeout=3)
            self.refresh_counts()

        self.app.push_screen(NameScreen(query, sort), named)

    def action_mark_all_read(self) -> None:
        view, text = self.query_state.view, self.query_state.text
        where = self.view_label(view) + (f" matching “{strip_controls(text)}”" if text else "")
        question = f"Mark every unread paper in {where} read?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._mark_read(view, text)

        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, group="save")
    def _mark_read(self, view: str, text: str) -> None:
        try:
            done = self.library.mark_view_read(view, text)
        except Exception as exc:
            error = str(exc) if isinstance(exc, PaperreaderError) else unexpected(exc)
            self.post_message(Notice(error, "error", "Not marked"))
            return
        self.app.call_from_thread(self._marked_read, done)

    def _marked_read(self, done: int) -> None:
        self.say(f"Marked {done:,} paper{'' if done == 1 else 's'} read", timeout=3)
        self.search(keep_cursor=True)
        self.refresh_counts()

    def action_next_unread(self) -> None:
        """The next unread paper below the cursor (among the rows loaded so far)."""
        plist = self.paper_list
        for index in range(plist.cursor + 1, plist.total):
            hit = plist.hit_at(index)
            if hit is None:
                break  # not loaded yet: stop here rather than wait
            if hit.state == ReadState.UNREAD:
                plist.move_to(index)
                return
        self.say("No unread paper below this one (loaded so far).", timeout=2)
