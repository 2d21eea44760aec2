"""The web console: pages over the services, a dev phone, served at ``/console``."""

from openline.console.app import console_app
from openline.console.deps import ConsoleServices

__all__ = ["ConsoleServices", "console_app"]
