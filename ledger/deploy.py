"""Deploy all contracts in one step and keep a deployment manifest."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from ledger.client import ChainClient
from ledger.compiler import Build

DEPLOY_ORDER = ("SettlementToken", "DataRegistry", "CheckpointLog", "Settlement")


@dataclass(frozen=True)
class Deployment:
    """What was deployed where; written to `.provex/deployment.json`."""

    chain_id: int
    addresses: dict[str, str]
    deployment_block: int
    compiler_version: str
    sources_hash: str
    deployer: str

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Deployment | None:
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))


def deploy_all(client: ChainClient, build: Build, deployer: LocalAccount) -> Deployment:
    """Deploy token, registry, checkpoint log and settlement; return the manifest."""
    w3 = client.w3
    addresses: dict[str, str] = {}
    first_block: int | None = None
    for name in DEPLOY_ORDER:
        art = build.artifacts[name]
        factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        if name == "Settlement":
            ctor = factory.constructor(deployer.address, addresses["SettlementToken"],
                                       addresses["DataRegistry"])
        else:
            ctor = factory.constructor(deployer.address)
        receipt = client.transact(deployer, ctor)
        rcpt = w3.eth.get_transaction_receipt(HexBytes(receipt.tx_hash))
        addresses[name] = Web3.to_checksum_address(str(rcpt["contractAddress"]))
        first_block = receipt.block_number if first_block is None else first_block
    assert first_block is not None
    return Deployment(
        chain_id=client.chain_id,
        addresses=addresses,
        deployment_block=first_block,
        compiler_version=build.compiler_version,
        sources_hash=build.sources_hash,
        deployer=deployer.address,
    )


def reusable(client: ChainClient, manifest: Deployment | None, build: Build) -> bool:
    """True when the manifest matches this chain and build and the chain still has the code."""
    if manifest is None or manifest.chain_id != client.chain_id:
        return False
    if manifest.sources_hash != build.sources_hash:
        return False
    return all(
        len(client.w3.eth.get_code(Web3.to_checksum_address(manifest.addresses.get(n, "0x" + "0" * 40)))) > 0
        for n in DEPLOY_ORDER
    )


def ensure_deployed(
    client: ChainClient, build: Build, deployer: LocalAccount, manifest_path: Path
) -> tuple[Deployment, bool]:
    """Reuse the manifest's deployment when the chain has it; deploy otherwise. Returns (manifest, fresh)."""
    manifest = Deployment.load(manifest_path)
    if reusable(client, manifest, build):
        assert manifest is not None
        return manifest, False
    manifest = deploy_all(client, build, deployer)
    manifest.save(manifest_path)
    return manifest, True
