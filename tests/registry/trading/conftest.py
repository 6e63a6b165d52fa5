"""Trading tests run against the same kind of real API servers (uvicorn + Anvil) as tests/api."""

from __future__ import annotations

from tests.utils.server import server, servers

__all__ = ["server", "servers"]
