"""staff-feed: a terminal app for dispatchers to message staff by email and SMS."""

__version__ = "0.1.0"
