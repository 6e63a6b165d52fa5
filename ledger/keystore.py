"""A participant's own keystore: keyfile-v3 files in a folder on the participant's machine.

Each key is one file, `<name>.json`, encrypted with the participant's passphrase (scrypt + AES-128-CTR,
the format geth, MetaMask and eth-account read). The exchange never sees these files; it learns only
the address, which the participant proves it holds by signing a challenge.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils import to_checksum_address

from ledger.keys import KeyfileError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
STANDARD_SCRYPT_N = 2**18  # geth's standard work factor


class KeystoreError(ValueError):
    """A key name is invalid, missing or already taken."""


@dataclass(frozen=True)
class KeyEntry:
    name: str
    address: str
    path: Path


class Keystore:
    """Creates, imports, lists and opens keys under `root` (created 0700; files 0600)."""

    def __init__(self, root: Path, scrypt_n: int = STANDARD_SCRYPT_N) -> None:
        self.root = root
        self.scrypt_n = scrypt_n

    def new(self, name: str, passphrase: str) -> KeyEntry:
        """A fresh random key, stored encrypted under `name`."""
        acct: LocalAccount = Account.create()
        return self._store(name, acct.key.hex(), passphrase)

    def import_key(self, name: str, private_key: str, passphrase: str) -> KeyEntry:
        """Store an existing private key (hex) under `name`."""
        try:
            Account.from_key(private_key)
        except (ValueError, TypeError) as exc:
            raise KeystoreError(f"not a private key: {exc}") from None
        return self._store(name, private_key, passphrase)

    def entries(self) -> list[KeyEntry]:
        if not self.root.is_dir():
            return []
        return [self._entry(p) for p in sorted(self.root.glob("*.json"))]

    def get(self, name: str) -> KeyEntry:
        path = self._path(name)
        if not path.is_file():
            raise KeystoreError(f"no key named {name!r} in {self.root}")
        return self._entry(path)

    def open(self, name: str, passphrase: str) -> LocalAccount:
        """The signing account stored under `name`."""
        keyfile = json.loads(self.get(name).path.read_text())
        try:
            return Account.from_key(Account.decrypt(keyfile, passphrase))
        except ValueError as exc:
            raise KeyfileError(f"cannot decrypt key {name!r}: {exc}") from None

    def _store(self, name: str, private_key: str, passphrase: str) -> KeyEntry:
        path = self._path(name)
        if path.exists():
            raise KeystoreError(f"a key named {name!r} already exists in {self.root}")
        if not passphrase:
            raise KeystoreError("the passphrase must not be empty")
        keyfile = Account.encrypt(HexStr(private_key), passphrase, kdf="scrypt", iterations=self.scrypt_n)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(keyfile, fh, sort_keys=True)
        return self._entry(path)

    def _path(self, name: str) -> Path:
        if not NAME.match(name):
            raise KeystoreError(f"invalid key name {name!r}: letters, digits, '_', '.', '-' (at most 64)")
        return self.root / f"{name}.json"

    @staticmethod
    def _entry(path: Path) -> KeyEntry:
        data: dict[str, Any] = json.loads(path.read_text())
        return KeyEntry(name=path.stem, address=to_checksum_address("0x" + str(data.get("address", ""))), path=path)
