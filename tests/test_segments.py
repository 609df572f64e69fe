from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staff_feed_tui.core.segments import count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("Café à 5€", "GSM-7", 10, 1),  # é and à are in the GSM basic set; € is in the extension table (2)
        ("{" * 80, "GSM-7", 160, 1),
        ("[" * 81, "GSM-7", 162, 2),
        ("a" * 159 + "^", "GSM-7", 161, 2),
        ("á" * 70, "UCS-2", 70, 1),  # á is not in GSM-7
        ("á" * 71, "UCS-2", 71, 2),
        ("á" * 134, "UCS-2", 134, 2),
        ("á" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "UCS-2", 72, 2),
        ("Hi Dana " + "ć", "UCS-2", 9, 1),
    ],
)
def test_known_cases(text: str, encoding: str, units: int, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


def test_warning_and_refusal_thresholds() -> None:
    assert not count_segments("a" * 1530).warn  # 10 segments of 153
    assert count_segments("a" * 1531).warn
    assert not count_segments("a" * 1600).too_long
    assert count_segments("a" * 1601).too_long


def test_describe() -> None:
    assert count_segments("a" * 161).describe() == "161/306 · 2 segments · GSM-7"


@given(st.text(max_size=400), st.text(min_size=1, max_size=50))
def test_segments_never_decrease_as_text_grows(text: str, more: str) -> None:
    assert count_segments(text + more).segments >= count_segments(text).segments
