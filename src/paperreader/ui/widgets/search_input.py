"""The search bar's input: Enter and Esc hand the focus to the list before any key typed after
them."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class SearchInput(Input):
    """Keys typed ahead of an Enter or Esc (`lora⏎jb`) reach the list, not the query.

    The app routes each key to the widget focused when it reads the key, so `j` and `b` can
    already be queued here when Enter is handled. Enter moves the focus at once, and keys that
    arrive after the focus left are sent back to the app to be routed again."""

    class Entered(Input.Submitted):
        """Enter was pressed (the focus has already moved on)."""

    async def action_submit(self) -> None:
        # Keys typed after Enter act on the new results: the app holds them until they show
        # (the screen releases them), and the list has the focus before the next key is routed.
        hold = getattr(self.app, "hold_keys", None)
        if hold is not None:
            hold()
        self.screen.focus_next()
        self.post_message(self.Entered(self, self.value))

    async def _on_key(self, event: events.Key) -> None:
        if self.screen.focused is not self:  # (has_focus changes later, with the Blur event)
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
            return
        if event.key == "enter":
            # Here, not as a binding: a binding runs only when the key has bubbled up to the
            # app, after the keys queued behind it were already typed into the query.
            event.stop()
            event.prevent_default()
            await self.action_submit()
            return
        if event.key == "escape":
            # Back to the list, the query and its results kept (Esc on the list clears them);
            # here for the same reason as Enter: `/lora⎋j` moves the list, never types a `j`.
            event.stop()
            event.prevent_default()
            self.screen.focus_next()
            return
        await super()._on_key(event)
