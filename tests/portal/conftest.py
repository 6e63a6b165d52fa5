"""The portal's signing tests: headless Chromium, and real API servers for the end-to-end ones."""

from __future__ import annotations

from tests.utils.browser import browser
from tests.utils.server import server, servers

__all__ = ["browser", "server", "servers"]
