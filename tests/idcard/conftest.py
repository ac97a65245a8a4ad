"""Fixtures of the ID-card tests (helpers live in idcard_support, a uniquely named module)."""
from idcard_support import make_sim  # noqa: F401
