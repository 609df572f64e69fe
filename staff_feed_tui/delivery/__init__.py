"""Delivery: the outbox worker and the transports it sends through (SMTP, Twilio, and files for the demo)."""
