"""SMS segment maths: how many parts a text costs, in which encoding.

GSM-7 decides with the `gsm0338` package's codec (a maintained GSM 03.38 table, with the extension table's
escape sequences), not a table of our own. A text the codec can encode is GSM-7: 160 septets in one segment, 153 in
each part of a longer one, and an extension character (`€ [ ] { } ~ ^ | \\`) costs two. Anything else is UCS-2:
70 UTF-16 code units in one segment, 67 per part (an emoji outside the BMP costs two).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

MAX_SMS_CHARS = 1600  # Twilio's limit for a message body
WARN_SEGMENTS = 10


@dataclass(frozen=True, slots=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # what the dispatcher typed
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # the capacity of each segment at this length

    @property
    def too_long(self) -> bool:
        return self.characters > MAX_SMS_CHARS

    @property
    def warn(self) -> bool:
        return self.segments > WARN_SEGMENTS

    def describe(self) -> str:
        """`42/160 · 1 segment · GSM-7`, the line the composer shows."""
        capacity = self.per_segment * max(1, self.segments)
        plural = "" if self.segments == 1 else "s"
        return f"{self.units}/{capacity} · {self.segments} segment{plural} · {self.encoding}"


def count_segments(text: str) -> SegmentCount:
    try:
        units = len(text.encode("gsm03.38"))
        encoding, single, multi = "GSM-7", 160, 153
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        encoding, single, multi = "UCS-2", 70, 67
    if units <= single:
        segments, per = 1, single
    else:
        segments, per = math.ceil(units / multi), multi
    return SegmentCount(encoding, len(text), units, segments, per)
