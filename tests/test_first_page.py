"""The first-page race, without Textual: in time it is taken, late it is handed on, and never both."""

from __future__ import annotations

import threading

from staff_feed_tui.tui.panes.first_page import FirstPage


def test_a_page_read_in_time_is_taken_and_not_handed_on() -> None:
    late: list[object] = []
    race = FirstPage(lambda: "page", late.append).start()
    assert race.take(5.0) == "page"
    assert late == []


def test_a_slow_page_is_handed_on_once_read() -> None:
    release = threading.Event()
    handed = threading.Event()
    late: list[object] = []

    def read() -> str:
        release.wait(5.0)
        return "slow page"

    def hand_on(result: object) -> None:
        late.append(result)
        handed.set()

    race = FirstPage(read, hand_on).start()
    assert race.take(0.0) is None
    release.set()
    assert handed.wait(5.0)
    assert late == ["slow page"]


def test_an_error_is_handed_over_like_a_page() -> None:
    def read() -> str:
        raise OSError("disk gone")

    race = FirstPage(read, lambda _: None).start()
    result = race.take(5.0)
    assert isinstance(result, OSError) and str(result) == "disk gone"


def test_a_page_racing_the_deadline_goes_exactly_one_way() -> None:
    """Taken or handed on, never both and never neither, whichever side of the deadline the read lands."""
    for attempt in range(200):
        handed: list[object] = []
        done = threading.Event()

        def hand_on(result: object, handed: list[object] = handed, done: threading.Event = done) -> None:
            handed.append(result)
            done.set()

        race = FirstPage(lambda attempt=attempt: attempt, hand_on).start()
        taken = race.take(0.0)
        if taken is None:
            assert done.wait(5.0) and handed == [attempt]
        else:
            assert taken == attempt and handed == []
