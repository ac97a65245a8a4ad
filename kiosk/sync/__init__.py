"""The kiosk's side of the hub: the HTTP client, the local outbox and receipt numbering (DESIGN §2)."""
from kiosk.sync.client import HubClient, HubRejected
from kiosk.sync.outbox import Outbox, OutboxWorker
from kiosk.sync.receipt_numbers import next_receipt_no

__all__ = ["HubClient", "HubRejected", "Outbox", "OutboxWorker", "next_receipt_no"]
