"""The demo's witness: the authority signs the trust file with its own demo key, and the auditor runs `provex witness`
with its own demo key and state file, as each would on its own machine.

The chain's URL is the one the API's chain runtime published in `<home>/chain-rpc.json` (`ledger.rpc_file`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from api.settings import Settings
from ledger.client import ChainClient
from ledger.compiler import compile_contracts
from ledger.contracts import Ledger
from ledger.deploy import Deployment
from ledger.rpc_file import RPC_FILE, running_endpoint
from ledger.trust import make_trust

TRUST_FILE = "trust.json"
WITNESS = "auditor"  # the demo participant who runs the witness


@dataclass(frozen=True)
class DemoWitness:
    """What the summary tells: where the chain answers, the signed trust file and the witness's address."""

    rpc_url: str
    trust: Path
    address: str  # the witness's (the auditor's)
    authority: str  # who signed the trust file
    state: Path

    def verify_command(self) -> str:
        return (f"provex audit verify --from ./audit --rpc {self.rpc_url} --trust {self.trust} "
                f"--witness {self.address}")


def sign_demo_trust(settings: Settings, home: Path, authority: LocalAccount) -> tuple[str, Path]:
    """The running chain's URL, and the trust file the authority signed into `<home>/demo/trust.json`."""
    endpoint = running_endpoint(home)
    if endpoint is None:
        raise RuntimeError(f"the API published no running chain in {home / RPC_FILE}")
    manifest = Deployment.load(home / "deployment.json")
    if manifest is None:
        raise RuntimeError(f"no deployment manifest in {home}")
    contracts = compile_contracts(settings.contracts_dir, home / "build", settings.solc, settings.toolchain_dir,
                                  settings.evm_version)
    trust, problems = make_trust(Ledger(ChainClient(endpoint.rpc_url), manifest, contracts), authority, contracts)
    if problems:
        raise RuntimeError("the demo's trust file does not hold: " + "; ".join(f"{p.field}: {p.detail}"
                                                                             for p in problems))
    path = home / "demo" / TRUST_FILE
    path.write_text(trust.to_json(), encoding="utf-8")
    return endpoint.rpc_url, path
