"""The gateway: the only part the internet talks to. Twilio's webhooks in, signed media out."""
