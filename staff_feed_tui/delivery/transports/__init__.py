"""Transports: one per channel and kind (SMTP, Twilio, file)."""
