"""Pure Python: value types, safe text, validation and the checks on a draft. No I/O libraries, no ORM."""
