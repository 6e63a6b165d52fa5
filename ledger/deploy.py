"""Deploy all contracts in one step and keep a deployment manifest.

The deployer only pays for deployment: every contract is born with governance as its sole admin
(`AccessControlDefaultAdminRules`), the recorder and the dev minter are named in the constructors,
and the deployer never holds a role, so there is nothing for it to renounce and no window in which
it could use one.

`ProvexForwarder` (OpenZeppelin's ERC2771Forwarder) is deployed first; DataRegistry, Settlement and
the dev token trust it, so an act a participant signed and the exchange relayed counts as the
participant's own (`_msgSender()` is the signer). Settlement creates `VoucherProgrammes` (the voucher
programmes' bookkeeping, kept out of Settlement for the EIP-170 size limit) in its constructor; its address
is read from `Settlement.programmes()` and listed with the others.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.types import Nonce
from web3.utils import get_create_address

from ledger.client import ChainClient, Sent
from ledger.compiler import Build

# The forwarder first: the contracts that take participants' signed acts trust it from birth (ERC-2771).
DEPLOY_ORDER = ("ProvexForwarder", "SettlementToken", "DataRegistry", "CheckpointLog", "Settlement")
# Contracts Settlement creates in its constructor (its own, for good: nobody else can wire them), read from it.
CREATED_BY_SETTLEMENT = ("VoucherProgrammes",)
CONTRACTS = DEPLOY_ORDER + CREATED_BY_SETTLEMENT


class DeploymentError(RuntimeError):
    """The deployment plan is unsafe or refers to something the chain does not have."""


@dataclass(frozen=True)
class DeployPlan:
    """Who holds what once deployed; the deployer itself holds nothing.

    `token` is an existing ERC-20 to settle in (production); None deploys the dev SettlementToken,
    whose minter is `minter` (default: governance).
    """

    governance: str
    recorder: str
    admin_delay: int = 0
    token: str | None = None
    minter: str | None = None


@dataclass(frozen=True)
class Deployment:
    """What was deployed where; written to `.provex/deployment.json`."""

    chain_id: int
    addresses: dict[str, str]
    deployment_block: int
    compiler_version: str
    sources_hash: str
    deployer: str
    governance: str
    recorder: str
    admin_delay: int
    dev_token: bool

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Deployment | None:
        """The manifest at `path`; None when absent or written by an older layout (then redeploy)."""
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        if set(data) != {f.name for f in dataclasses.fields(cls)}:
            return None
        return cls(**data)


def _checksum(address: str) -> ChecksumAddress:
    return Web3.to_checksum_address(address)


def check_plan(plan: DeployPlan, deployer: str) -> None:
    """Refuse a plan that would leave the deployer with authority."""
    deployer = _checksum(deployer)
    for what, address in (("governance", plan.governance), ("recorder", plan.recorder),
                          ("minter", plan.minter)):
        if address is not None and _checksum(address) == deployer:
            raise DeploymentError(f"the deployer {deployer} cannot be the {what}: it only pays for "
                                  f"deployment and holds no role afterwards")
    if plan.admin_delay < 0 or plan.admin_delay >= 2**48:
        raise DeploymentError(f"admin delay {plan.admin_delay} is out of range (uint48 seconds)")


def deploy_all(client: ChainClient, build: Build, deployer: LocalAccount, plan: DeployPlan) -> Deployment:
    """Deploy (dev token,) registry, checkpoint log and settlement under `plan`; return the manifest."""
    check_plan(plan, deployer.address)
    w3 = client.w3
    governance, delay = _checksum(plan.governance), plan.admin_delay
    addresses: dict[str, str] = {}
    if plan.token is not None:
        token = _checksum(plan.token)
        if len(client.rpc(lambda: w3.eth.get_code(token))) == 0:
            raise DeploymentError(f"no contract at the settlement token address {token}")
        addresses["SettlementToken"] = token
    def ctor_args(name: str) -> tuple[Any, ...]:
        """Constructor arguments; each contract's dependencies are deployed before it."""
        if name == "ProvexForwarder":
            return ()
        forwarder = addresses["ProvexForwarder"]
        if name == "SettlementToken":
            return delay, governance, _checksum(plan.minter or governance), forwarder
        if name == "DataRegistry":
            return delay, governance, forwarder
        if name == "CheckpointLog":
            return delay, governance, _checksum(plan.recorder)
        return delay, governance, forwarder, addresses["SettlementToken"], addresses["DataRegistry"]

    # No constructor calls another contract, so all are sent at once, each told the addresses its dependencies
    # will have (from the deployer's nonces), and land in one block on a chain with a block time.
    sent: dict[str, Sent] = {}
    for name in DEPLOY_ORDER:
        if name in addresses:
            continue
        art = build.artifacts[name]
        factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        sent[name] = client.send(deployer, factory.constructor(*ctor_args(name)))
        addresses[name] = _checksum(get_create_address(deployer.address, Nonce(sent[name].nonce)))
    blocks = []
    for name, tx in sent.items():
        receipt = client.wait_sent(tx)
        created = client.rpc(lambda h=receipt.tx_hash: w3.eth.get_transaction_receipt(HexBytes(h)))["contractAddress"]
        if _checksum(str(created)) != addresses[name]:
            raise DeploymentError(f"{name} was created at {created}, not at {addresses[name]} (the deployer sent "
                                  f"another transaction meanwhile): deploy again")
        blocks.append(receipt.block_number)
    first_block = min(blocks)
    settlement = w3.eth.contract(address=_checksum(addresses["Settlement"]), abi=build.artifacts["Settlement"].abi)
    addresses["VoucherProgrammes"] = _checksum(client.call(settlement.functions.programmes()))
    return Deployment(
        chain_id=client.chain_id,
        addresses=addresses,
        deployment_block=first_block,
        compiler_version=build.compiler_version,
        sources_hash=build.sources_hash,
        deployer=deployer.address,
        governance=governance,
        recorder=_checksum(plan.recorder),
        admin_delay=delay,
        dev_token=plan.token is None,
    )


def reusable(client: ChainClient, manifest: Deployment | None, build: Build, plan: DeployPlan) -> bool:
    """True when the manifest matches this chain, build and token choice and the chain still has the code.

    Governance and recorder are not compared: they may have changed on chain since (two-step admin
    transfer, a new recorder); the runtime checks them against the settings after start.
    """
    if manifest is None or manifest.chain_id != client.chain_id:
        return False
    if manifest.sources_hash != build.sources_hash:
        return False
    if manifest.dev_token != (plan.token is None):
        return False
    if plan.token is not None and manifest.addresses.get("SettlementToken") != _checksum(plan.token):
        return False
    return all(
        len(client.w3.eth.get_code(_checksum(manifest.addresses.get(n, "0x" + "0" * 40)))) > 0
        for n in CONTRACTS
    )


def ensure_deployed(
    client: ChainClient, build: Build, deployer: LocalAccount, manifest_path: Path, plan: DeployPlan
) -> tuple[Deployment, bool]:
    """Reuse the manifest's deployment when the chain has it; deploy otherwise. Returns (manifest, fresh)."""
    manifest = Deployment.load(manifest_path)
    if reusable(client, manifest, build, plan):
        assert manifest is not None
        return manifest, False
    manifest = deploy_all(client, build, deployer, plan)
    manifest.save(manifest_path)
    return manifest, True
