"""Headless Chromium (Debian's, driven by Playwright) for the portal's signing tests, and what they load in it:
the ethers bundle from the toolchain, the portal's signer, participants' keystores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from api.portal.vendor import ETHERS_FILE
from ledger.toolchain import DEFAULT_TOOLCHAIN_DIR
from tests.utils.common import repo_root
from tests.utils.demo import CHROMIUM, CHROMIUM_ARGS

ETHERS_JS = DEFAULT_TOOLCHAIN_DIR / ETHERS_FILE
SIGNER_JS = repo_root() / "api" / "portal" / "static" / "signer.js"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def write_keystore(folder: Path, account: LocalAccount, passphrase: str = PASSPHRASE) -> Path:
    """A keyfile v3 for `account`, as `provex keys new` writes (scrypt; a small work factor for tests)."""
    path = folder / f"{account.address}.json"
    path.write_text(json.dumps(Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=1024)))
    return path
