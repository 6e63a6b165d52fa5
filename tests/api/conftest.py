"""The API tests run against real API servers (uvicorn + the session Anvil), one per database backend."""

from __future__ import annotations

from tests.utils.server import server, servers

__all__ = ["server", "servers"]
