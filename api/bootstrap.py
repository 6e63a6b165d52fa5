"""Bootstrap accounts written straight into the database (authority and exchange hold admin roles on chain,
so nobody can onboard them over HTTP). Each is bound to its holder's address by the holder's signature
(`provex keys bind`); the exchange never sees the key. Chain setup is queued and sent by the running server.
"""

from __future__ import annotations

from typing import Any

from api.settings import Settings
from ledger import promises
from ledger.deploy import Deployment


def _promiser(settings: Settings, manifest: Deployment) -> promises.Promiser | None:
    """The recorder's promiser, when this host holds the recorder key (settings, or the dev key under home)."""
    from eth_utils import to_checksum_address

    from ledger.client import account_from_key
    from ledger.keys import Keyring
    from ledger.runtime import dev_key_path

    path = dev_key_path(settings.home, "recorder")
    if settings.recorder_key is not None:
        recorder = account_from_key(settings.recorder_key.get_secret_value())
    elif settings.env == "dev" and path.is_file():
        recorder = Keyring(settings.key_passphrase.get_secret_value(), settings.keystore_scrypt_n).open(
            path.read_text())
    else:
        return None
    return promises.Promiser(recorder, manifest.chain_id, to_checksum_address(manifest.addresses["CheckpointLog"]),
                             settings.promise_max_delay)


def create_bootstrap_account(settings: Settings, role: str, name: str, binding: dict[str, Any]) -> dict[str, Any]:
    """Create an account for the holder who signed `binding` ({address, nonce, deadline, signature}); returns
    id, role, name, address and the API key (shown once, only its hash is kept)."""
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
        promises.install(engine, _promiser(settings, manifest))
        with session_scope(engine) as session:
            row, api_key = create_account(session, None, role=Role(role), name=name, binding=signed)
            out = {"id": row.id, "role": str(row.role), "name": row.name, "address": row.address,
                   "api_key": api_key}
    finally:
        engine.dispose()
    return out
