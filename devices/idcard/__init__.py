"""Resident ID-card readers speaking the GA 467 SAM protocol over serial / USB-CDC (see docs/idcard.md)."""
