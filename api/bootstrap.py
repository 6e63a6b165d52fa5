"""Bootstrap accounts written straight into the database (authority and exchange hold admin roles on chain,
so nobody can onboard them over HTTP). Their chain setup is queued and sent by the running server.

In dev, with no `PROVEX_GOVERNANCE_ADDRESS`, the first authority account takes the dev governance key
(`<home>/keys/governance.json`, the contracts' admin): governance is the authority in the embedded setup.
"""

from __future__ import annotations

from typing import Any

from api.settings import Settings


def create_bootstrap_account(settings: Settings, role: str, name: str) -> dict[str, Any]:
    """Create an account; returns id, role, name, address and the API key (shown once, only its hash is kept)."""
    from sqlmodel import select

    from ledger.keys import Keyring, load_or_create_key
    from ledger.runtime import dev_key_path
    from registry.accounts import create_account
    from registry.db import make_engine, migrate, session_scope
    from registry.models import Account, Role

    role_value = Role(role)
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        migrate(engine)
        keyring = Keyring(settings.key_passphrase.get_secret_value(), settings.keystore_scrypt_n)
        with session_scope(engine) as session:
            key = None
            if (role_value is Role.AUTHORITY and settings.env == "dev" and not settings.governance_address
                    and session.exec(select(Account).where(Account.role == Role.AUTHORITY.value)).first() is None):
                key = load_or_create_key(dev_key_path(settings.home, "governance"), keyring)
            row, api_key = create_account(session, keyring, None, role=role_value, name=name, key=key)
            out = {"id": row.id, "role": str(row.role), "name": row.name, "address": row.address,
                   "api_key": api_key}
    finally:
        engine.dispose()
    return out
