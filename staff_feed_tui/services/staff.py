"""Staff members: the list, one profile read and edited, when each was last active, and the roster import."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from staff_feed_tui.core.roster import StaffInput
from staff_feed_tui.core.types import DeliveryMethod, StaffView
from staff_feed_tui.core.validation import ProfileEdit, check_profile
from staff_feed_tui.services.context import Services
from staff_feed_tui.store import staff
from staff_feed_tui.store.staff import ImportResult, StaffNotFound, StaleProfile

__all__ = [
    "ImportResult",
    "StaffNotFound",
    "StaleProfile",
    "check_profile_edit",
    "find_staff",
    "get_staff",
    "import_staff",
    "list_staff",
    "staff_activity",
    "update_profile",
]


def list_staff(services: Services, *, include_inactive: bool = False) -> list[StaffView]:
    return staff.list_staff(services.engine, include_inactive=include_inactive)


def get_staff(services: Services, staff_id: int) -> StaffView:
    """Raises StaffNotFound."""
    return staff.get_staff(services.engine, staff_id)


def find_staff(services: Services, ref: str) -> StaffView:
    """The one staff member that an id, an email or a name typed by a dispatcher names; raises StaffNotFound."""
    return staff.find_staff(services.engine, ref)


def staff_activity(services: Services) -> dict[int, datetime]:
    """When each staff member's latest message was written, for sorting the list by activity."""
    return staff.staff_activity(services.engine)


def check_profile_edit(
    services: Services, email: str, phone: str, accepts_texts: bool, method: DeliveryMethod
) -> ProfileEdit:
    """The typed fields checked and normalised (the phone in the company's region); raises ProfileProblem."""
    return check_profile(email, phone, accepts_texts, method, services.settings.company.default_region)


def update_profile(services: Services, staff_id: int, before: StaffView, edit: ProfileEdit) -> StaffView:
    """Save a checked edit if nobody changed the profile since `before` was read; raises StaleProfile,
    InvalidContact (the email is another staff member's) or StaffNotFound, and then nothing is written."""
    return staff.update_profile(services.engine, staff_id, before, edit)


def import_staff(services: Services, rows: Sequence[StaffInput]) -> ImportResult:
    """Add or update (matched by email) every checked roster row, in one transaction."""
    return staff.import_staff(services.engine, rows)
