"""Each story participant's own key, in a keystore under the demo's home (`<home>/demo/keystore`).

Only the story's client side opens them (it signs as each participant, like each participant's own
machine would); the API process never reads them. The passphrase is the demo's (dev only)."""

from __future__ import annotations

from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledger.keystore import Keystore, KeystoreError

DEMO_PASSPHRASE = "provex-demo-participant"  # dev demo only: PROVEX_ENV=prod never runs the demo
DEMO_SCRYPT_N = 2**12


def keystore_dir(home: Path) -> Path:
    """The demo participants' keystore folder."""
    return home / "demo" / "keystore"


def participant_keys(home: Path, names: list[str]) -> dict[str, LocalAccount]:
    """The key of each of `names`, created in the demo keystore on first use."""
    store = Keystore(keystore_dir(home), DEMO_SCRYPT_N)
    out = {}
    for name in names:
        try:
            store.get(name)
        except KeystoreError:
            store.new(name, DEMO_PASSPHRASE)
        out[name] = store.open(name, DEMO_PASSPHRASE)
    return out
