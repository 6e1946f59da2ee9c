"""Widgets of the reader: the paged paper list, the detail pane, the search bar."""
