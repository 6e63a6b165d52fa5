"""Bootstrap accounts written straight into the database (authority and exchange hold admin roles on chain,
so nobody can onboard them over HTTP). Their chain setup is queued and sent by the running server."""

from __future__ import annotations

from typing import Any

from api.settings import Settings


def create_bootstrap_account(settings: Settings, role: str, name: str) -> dict[str, Any]:
    """Create an account; returns id, role, name, address and the API key (shown once, only its hash is kept)."""
    from ledger.keys import Keyring
    from registry.accounts import create_account
    from registry.db import make_engine, migrate, session_scope
    from registry.models import Role

    role_value = Role(role)
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        migrate(engine)
        keyring = Keyring(settings.key_passphrase.get_secret_value(), settings.keystore_scrypt_n)
        with session_scope(engine) as session:
            row, api_key = create_account(session, keyring, None, role=role_value, name=name)
            out = {"id": row.id, "role": str(row.role), "name": row.name, "address": row.address,
                   "api_key": api_key}
    finally:
        engine.dispose()
    return out
