"""Kiosk core: config, domain model, storage, hub, platform adapters, sync, privacy, i18n and the CLI."""

__version__ = "0.1.0"
