"""The use cases, with no Textual: what the TUI, the CLI, the gateway and mail-in call (see docs/architecture.md).

- `context`: the Services container and `open_services`;
- `feeds`, `outgoing`, `inbound`, `staff`, `demo`: one module per area of use cases.

The names most callers use are re-exported here, and loaded only when first asked for: importing this package (or
a light module in it) must not load the ORM, so that the app can paint its first frame before the heavy parts load.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services, current_user, open_services
    from staff_feed_tui.services.demo import demo_settings, seed_demo_once, shipped_data_dir
    from staff_feed_tui.services.outgoing import MmsLimitError, check_outgoing, queue_outgoing

_EXPORTS = {
    "Services": "context",
    "current_user": "context",
    "open_services": "context",
    "demo_settings": "demo",
    "seed_demo_once": "demo",
    "shipped_data_dir": "demo",
    "MmsLimitError": "outgoing",
    "check_outgoing": "outgoing",
    "queue_outgoing": "outgoing",
}

__all__ = [  # the same names as `_EXPORTS`
    "MmsLimitError",
    "Services",
    "check_outgoing",
    "current_user",
    "demo_settings",
    "open_services",
    "queue_outgoing",
    "seed_demo_once",
    "shipped_data_dir",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
