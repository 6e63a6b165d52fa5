"""The portal's one third-party script: ethers v6, served from the npm toolchain, never committed, never a CDN.

Why ethers: the most widely used Ethereum library in browsers, audited, MIT licensed, one self-contained UMD
file that makes no network requests of its own, and it has exactly what the signer needs: EIP-712
`signTypedData` and keystore v3 decryption (`Wallet.fromEncryptedJson`, scrypt and pbkdf2). Its version is
pinned in `toolchain/package.json`; `make setup` installs it into `.toolchain/` (`Settings.toolchain_dir`, the
folder `ledger.toolchain` finds Anvil and solc-js in). Without it the portal still serves every page; the
pages that sign say what is missing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

ETHERS_FILE = Path("node_modules") / "ethers" / "dist" / "ethers.umd.min.js"
ETHERS_URL = "/portal/static/vendor/ethers.umd.min.js"
MISSING = "ethers is not installed in the toolchain folder: run `make setup` (or `make toolchain`)"

router = APIRouter(include_in_schema=False)


def ethers_path(request: Request) -> Path | None:
    """The ethers UMD bundle in this server's toolchain folder, or None if it is not installed."""
    path: Path = request.app.state.settings.toolchain_dir / ETHERS_FILE
    return path if path.is_file() else None


@router.get(ETHERS_URL)
def ethers_js(request: Request) -> Response:
    path = ethers_path(request)
    if path is None:
        return PlainTextResponse(MISSING, status_code=404)
    return FileResponse(path, media_type="text/javascript")
