"""Whether a staff member can be texted, and if not, why, in words a dispatcher reads in the composer."""

from __future__ import annotations

from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.types import StaffView


def sms_unavailable_reason(company_texting: bool, staff: StaffView) -> str | None:
    """None when SMS may be offered; otherwise the reason, e.g. "Dana does not accept texts"."""
    first = safe_line(staff.name.split()[0] if staff.name.split() else staff.name)
    if not company_texting:
        return "texting is off for the company"
    if not staff.phone:
        return f"{first} has no mobile number"
    if not staff.accepts_texts:
        return f"{first} does not accept texts"
    if staff.sms_opted_out:
        when = f" on {staff.sms_opted_out_at:%Y-%m-%d}" if staff.sms_opted_out_at else ""
        return f"{first} replied STOP{when}"
    return None
