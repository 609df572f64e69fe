"""Reserved for inbound email (a coming issue): an IMAP watcher and an LMTP server that store replies and bounces
through `services.inbound`. A layer beside `delivery` and `gateway` in the import contracts; empty until then."""
