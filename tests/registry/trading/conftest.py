"""Trading tests run against the same real API servers (uvicorn + Anvil) as tests/api."""

from __future__ import annotations

from tests.api.conftest import server, servers

__all__ = ["server", "servers"]
