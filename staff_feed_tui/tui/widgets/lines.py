"""Helpers shared by the line-API widgets (the feed and the staff list)."""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Change a line-API view's virtual size without a whole-screen layout when the layout cannot change.

    `virtual_size` is a reactive with `layout=True`: every assignment re-lays-out and repaints the whole screen
    (about 50 ms a keystroke here with the feed and the composer on screen). Unless the vertical scrollbar must
    appear or go away, the new size only needs the scrollbars told and this widget repainted.
    """
    old = view.virtual_size
    if old == size:
        return
    height = view.scrollable_content_region.height
    needs_scrollbar_change = (old.height > height) != (size.height > height) and view.styles.overflow_y == "auto"
    if needs_scrollbar_change or old.width != size.width:
        view.virtual_size = size
        return
    view.set_reactive(Widget.virtual_size, size)
    view._scroll_update(size)  # noqa: SLF001 - what Widget._size_updated does for a size change without layout
    view.refresh()
