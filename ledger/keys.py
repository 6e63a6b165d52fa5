"""Participant keys encrypted at rest in the standard keyfile v3 format (scrypt + AES-128-CTR).

The passphrase comes from settings and is never logged. Decrypted accounts are cached in
memory for the life of the process, since scrypt is deliberately slow.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr

# The embedded default passphrase: dev only (PROVEX_ENV=prod refuses it).
DEV_PASSPHRASE = "provex-dev-only"


class KeyfileError(ValueError):
    """A keyfile could not be decrypted (wrong passphrase or corrupt file)."""


class Keyring:
    """Creates and opens encrypted keyfiles; the keyfile JSON is what callers store."""

    def __init__(self, passphrase: str, scrypt_n: int = 2**14) -> None:
        self._passphrase = passphrase
        self._scrypt_n = scrypt_n
        self._cache: dict[str, LocalAccount] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Keyring(scrypt_n={self._scrypt_n}, cached={len(self._cache)})"

    def create(self) -> tuple[LocalAccount, str]:
        """A fresh account and its encrypted keyfile (JSON text)."""
        acct: LocalAccount = Account.create()
        return acct, self.encrypt(acct.key.hex())

    def encrypt(self, private_key: str) -> str:
        keyfile = Account.encrypt(HexStr(private_key), self._passphrase, kdf="scrypt", iterations=self._scrypt_n)
        acct: LocalAccount = Account.from_key(private_key)
        with self._lock:
            self._cache[acct.address] = acct
        return json.dumps(keyfile, sort_keys=True)

    def open(self, keyfile_json: str) -> LocalAccount:
        """The signing account inside `keyfile_json`."""
        keyfile: dict[str, Any] = json.loads(keyfile_json)
        address = "0x" + str(keyfile.get("address", ""))
        with self._lock:
            for cached_addr, acct in self._cache.items():
                if cached_addr.lower() == address.lower():
                    return acct
        try:
            key = Account.decrypt(keyfile, self._passphrase)
        except ValueError as exc:
            raise KeyfileError(f"cannot decrypt keyfile for {address}: {exc}") from None
        acct = Account.from_key(key)
        with self._lock:
            self._cache[acct.address] = acct
        return acct


def load_or_create_key(path: Path, keyring: Keyring) -> LocalAccount:
    """The account in the keyfile at `path`, created there (0600) when absent.

    Used for the dev chain's own keys (governance, recorder) under the app's home. The file appears
    complete or not at all (written aside, then hard-linked into place), so a second process racing
    to create it reads the winner's key instead of writing its own.
    """
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        acct, keyfile = keyring.create()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(keyfile)
        try:
            os.link(tmp, path)
            return acct
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return keyring.open(path.read_text())
