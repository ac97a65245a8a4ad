"""The supervisors' web console (`/console/`): server-rendered pages on the hub's data (see docs/console.md)."""
from kiosk.hub.console.routes import router

__all__ = ["router"]
