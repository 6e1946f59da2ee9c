"""A ScrollView drawn a line at a time (toolong's line API) that looks its style up once a paint."""

from __future__ import annotations

from rich.style import Style
from textual.geometry import Region
from textual.scroll_view import ScrollView
from textual.strip import Strip


class LineView(ScrollView):
    """The base of the paper list and the article text: `render_line` reads `frame_style`."""

    _frame_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        # `rich_style` walks up the DOM (~0.15 ms): once a repaint, not once a line.
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    @property
    def frame_style(self) -> Style:
        return self._frame_style or self.rich_style
