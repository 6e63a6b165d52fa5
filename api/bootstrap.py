"""Bootstrap accounts written straight into the database (authority and exchange hold admin roles on chain,
so nobody can onboard them over HTTP). Each is bound to its holder's address by the holder's signature
(`provex keys bind`); the exchange never sees the key. Chain setup is queued and sent by the running server.
"""

from __future__ import annotations

from typing import Any

from api.settings import Settings


def create_bootstrap_account(settings: Settings, role: str, name: str, binding: dict[str, Any]) -> dict[str, Any]:
    """Create an account for the holder who signed `binding` ({address, nonce, deadline, signature}); returns
    id, role, name, address and the API key (shown once, only its hash is kept)."""
    from ledger.deploy import Deployment
    from ledger.statements import statement_domain
    from registry.accounts import create_account
    from registry.bindings import SignedBinding
    from registry.db import make_engine, migrate, session_scope
    from registry.models import Role

    manifest = Deployment.load(settings.home / "deployment.json")
    if manifest is None:
        raise RuntimeError(f"no deployment under {settings.home}: start the exchange once first (`provex up`)")
    signed = SignedBinding.of(binding, role, name, statement_domain(manifest))
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        migrate(engine)
        with session_scope(engine) as session:
            row, api_key = create_account(session, None, role=Role(role), name=name, binding=signed)
            out = {"id": row.id, "role": str(row.role), "name": row.name, "address": row.address,
                   "api_key": api_key}
    finally:
        engine.dispose()
    return out
