"""`provex keys`: the participant's keystore on its own machine, driven as a real subprocess."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from eth_account import Account

from ledger.keystore import Keystore

PROVEX = str(Path(sys.executable).with_name("provex"))
KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def keys(root: Path, *args: str, stdin: str = "", passphrase: str = "s3cret") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root.parent), "PROVEX_KEYSTORE": str(root),
           "PROVEX_KEYSTORE_PASSPHRASE": passphrase, "PROVEX_KEYSTORE_SCRYPT_N": "1024"}
    return subprocess.run([PROVEX, "keys", *args], input=stdin, env=env, capture_output=True, text=True, timeout=60)


def test_new_import_show_export(tmp_path: Path) -> None:
    root = tmp_path / "keystore"
    made = keys(root, "new", "authority", "--json")
    assert made.returncode == 0, made.stderr
    address = json.loads(made.stdout)[0]["address"]
    path = root / "authority.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(root.stat().st_mode) == 0o700
    assert "ciphertext" in path.read_text() and KEY[2:] not in path.read_text()

    imported = keys(root, "import", "buyer", "--json", stdin=KEY + "\n")
    assert json.loads(imported.stdout)[0]["address"] == Account.from_key(KEY).address

    listed = json.loads(keys(root, "show", "--json").stdout)
    assert [(e["name"], e["address"]) for e in listed] == [("authority", address),
                                                           ("buyer", Account.from_key(KEY).address)]
    exported = keys(root, "export-address", "buyer", "--check")
    assert exported.stdout.strip() == Account.from_key(KEY).address
    # the file opens with the passphrase and yields the same key
    assert Keystore(root).open("buyer", "s3cret").key.hex().removeprefix("0x") == KEY[2:]


def test_refusals(tmp_path: Path) -> None:
    root = tmp_path / "keystore"
    assert keys(root, "new", "a").returncode == 0
    again = keys(root, "new", "a")
    assert again.returncode == 2 and "already exists" in again.stdout
    wrong = keys(root, "export-address", "a", "--check", passphrase="nope")
    assert wrong.returncode == 2 and "cannot decrypt" in wrong.stdout
    bad_name = keys(root, "new", "../evil")
    assert bad_name.returncode == 2 and "invalid key name" in bad_name.stdout
    not_a_key = keys(root, "import", "b", stdin="0x1234\n")
    assert not_a_key.returncode == 2 and "not a private key" in not_a_key.stdout
    assert keys(root, "show", "missing").returncode == 2
