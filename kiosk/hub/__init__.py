"""The hub: HTTP service between kiosks/counters and the provincial platform (DESIGN §2)."""
