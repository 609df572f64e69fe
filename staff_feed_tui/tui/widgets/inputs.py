"""A text field that does not lay out the whole screen on each keystroke.

Textual's Input sets its `virtual_size` to the width of its text on every change, and `virtual_size` is a layout
reactive: each keystroke cost a layout of the whole screen (about 20 ms with 10,000 staff in the list). The size is
stored first here, without the layout, so the assignment inside Input is a no-op; the field is still repainted.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Input


class QuickInput(Input):
    def _watch_value(self, value: str) -> None:
        self.set_reactive(Widget.virtual_size, Size(self.content_width, 1))
        super()._watch_value(value)
        self.refresh()
