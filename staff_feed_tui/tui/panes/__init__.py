"""The panes of the main screen: each owns its state, its workers and its CSS (see docs/architecture.md)."""

from __future__ import annotations

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState


def say_worker_failed(node: DOMNode, event: Worker.StateChanged, errors: dict[str, str]) -> None:
    """A worker of `node` that failed outright (not an outcome it reported): one sentence for the dispatcher, from
    the wording kept beside the worker (`errors`, by worker group); the details go to the log."""
    if event.state is not WorkerState.ERROR or event.worker.error is None:
        return
    what = errors.get(event.worker.group, "finish a task")
    node.app.log.error(f"worker {event.worker.name} ({event.worker.group}) failed: {event.worker.error!r}")
    node.notify(f"Could not {what}. The details are in the log.", severity="error", timeout=8)
