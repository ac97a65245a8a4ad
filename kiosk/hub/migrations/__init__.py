"""Alembic migrations of the hub database, one per schema change."""
