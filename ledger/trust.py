"""The trust file: the chain facts an auditor takes out of band, signed by the authority (docs/trust-file.md).

It names the chain (id and genesis block hash), every contract address (forwarder included), governance
(each governed contract's `defaultAdmin`), the authority that signed it, and the deployment block. The
signature is EIP-191 `personal_sign` (version 0x45) over the canonical JSON (`ledger.canonical`) of every
field but `signature`: the signed bytes are the document itself, a variable set of contracts needs no
typed schema, and any wallet, HSM or `cast wallet sign` can sign it while any language with canonical JSON,
keccak and secp256k1 can check it. The message prefix keeps it from ever being a transaction; `format` and
`chain_id` inside the body keep it from being taken for another message.

`check_trust` holds a trust file against the chain; `TrustedLog` reads the checkpoints from the contract
the trust file names (`count()` then each `checkpoint(i)`), never from events or an exporter's manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import Web3Exception

from ledger.canonical import canonical_json
from ledger.client import ChainClient
from ledger.compiler import Build
from ledger.contracts import AUTHORITY_ROLE, Checkpoint, Ledger
from ledger.cosignatures import add_witnesses
from ledger.deploy import CONTRACTS, DEPLOY_ORDER, Deployment
from ledger.errors import ChainError
from ledger.promises import Promise
from ledger.role_history import RoleHistory
from ledger.statements import statement_domain
from ledger.verify import (
    MANIFEST_FILE,
    Divergence,
    VerifyReport,
    export_promises,
    promise_book,
    read_export,
    verify_log,
)

TRUST_FORMAT = "provex-trust/1"
GOVERNED_ALWAYS = ("DataRegistry", "CheckpointLog", "Settlement")
FIELDS = ("format", "chain_id", "genesis_hash", "deployment_block", "contracts", "governed", "governance",
          "authority", "issued_at", "signature")


class TrustFileError(ValueError):
    """A trust file is malformed, unsigned, or its signature does not recover to its authority."""


@dataclass(frozen=True)
class TrustProblem:
    """One way a trust file disagrees with the chain or with its own signature."""

    field: str
    detail: str


@dataclass(frozen=True)
class TrustFile:
    """The signed trust anchors; `signature` is None until `sign_trust`."""

    chain_id: int
    genesis_hash: str
    deployment_block: int
    contracts: dict[str, str]
    governed: list[str]
    governance: str
    authority: str
    issued_at: int
    signature: str | None = None
    format: str = TRUST_FORMAT

    def body(self) -> dict[str, Any]:
        """Every field but the signature: what is signed."""
        out = asdict(self)
        out.pop("signature")
        return out

    def message(self) -> bytes:
        """The signed bytes: canonical JSON of the body."""
        return canonical_json(self.body())

    def to_json(self) -> str:
        return json.dumps({**self.body(), "signature": self.signature}, indent=2, sort_keys=True) + "\n"

    def deployment(self) -> Deployment:
        """A manifest holding only what the trust file vouches for (addresses, block, chain, governance)."""
        return Deployment(chain_id=self.chain_id, addresses=dict(self.contracts),
                          deployment_block=self.deployment_block, compiler_version="", sources_hash="",
                          deployer="", governance=self.governance, recorder="", admin_delay=0,
                          dev_token="SettlementToken" in self.governed)

    @classmethod
    def parse(cls, text: str) -> TrustFile:
        """A trust file from its JSON text; strict about fields, types and address spelling."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TrustFileError(f"not JSON: {exc}") from None
        if not isinstance(data, dict) or set(data) != set(FIELDS):
            keys = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise TrustFileError(f"a trust file has exactly the fields {', '.join(FIELDS)}; found {keys}")
        if data["format"] != TRUST_FORMAT:
            raise TrustFileError(f"format {data['format']!r} is not {TRUST_FORMAT!r}")
        for key in ("chain_id", "deployment_block", "issued_at"):
            if type(data[key]) is not int or data[key] < 0:
                raise TrustFileError(f"{key} must be a non-negative integer")
        contracts = data["contracts"]
        if not isinstance(contracts, dict) or set(contracts) != set(CONTRACTS):
            raise TrustFileError(f"contracts must name exactly {', '.join(sorted(CONTRACTS))}")
        governed = data["governed"]
        if (not isinstance(governed, list) or not set(GOVERNED_ALWAYS) <= set(governed)
                or not set(governed) <= set(DEPLOY_ORDER) - {"ProvexForwarder"}):
            raise TrustFileError(f"governed must list {', '.join(GOVERNED_ALWAYS)} (and SettlementToken when "
                                 "governance administers it)")
        for where, value in [*((f"contracts.{k}", v) for k, v in contracts.items()),
                             ("governance", data["governance"]), ("authority", data["authority"])]:
            if not isinstance(value, str) or not Web3.is_checksum_address(value):
                raise TrustFileError(f"{where} must be a checksummed address, not {value!r}")
        h = data["genesis_hash"]
        if not isinstance(h, str) or len(h) != 66 or not h.startswith("0x") or h != h.lower():
            raise TrustFileError("genesis_hash must be 0x and 64 lower-case hex digits")
        if data["signature"] is not None and not isinstance(data["signature"], str):
            raise TrustFileError("signature must be a 0x-hex string")
        return cls(**data)


def sign_trust(trust: TrustFile, account: LocalAccount) -> TrustFile:
    """`trust` signed by `account`, which becomes its authority."""
    named = TrustFile(**{**asdict(trust), "authority": account.address, "signature": None})
    signed = account.sign_message(encode_defunct(primitive=named.message()))
    return TrustFile(**{**asdict(named), "signature": "0x" + bytes(signed.signature).hex()})


def signer_of(trust: TrustFile) -> str:
    """The address that signed `trust`; raises TrustFileError when unsigned or unreadable."""
    if not trust.signature:
        raise TrustFileError("the trust file is not signed")
    try:
        return str(Account.recover_message(encode_defunct(primitive=trust.message()),
                                           signature=bytes.fromhex(trust.signature.removeprefix("0x"))))
    except (ValueError, TypeError) as exc:
        raise TrustFileError(f"unreadable signature: {exc}") from None


def genesis_hash(client: ChainClient) -> str:
    h = client.block_hash(0)
    if h is None:
        raise ChainError("the chain has no genesis block")
    return "0x" + h.hex()


def _created_by_settlement(ledger: Ledger, trust: TrustFile) -> list[TrustProblem]:
    """VoucherProgrammes must be the one Settlement created (Settlement trusts no other)."""
    try:
        created = str(ledger.raw_call("Settlement", "programmes"))
    except (ChainError, Web3Exception) as exc:
        return [TrustProblem("contracts.Settlement", f"not a Provex Settlement: {exc}")]
    if created != trust.contracts["VoucherProgrammes"]:
        return [TrustProblem("contracts.VoucherProgrammes", f"Settlement's own VoucherProgrammes is {created}")]
    return []


def trust_from_chain(ledger: Ledger) -> TrustFile:
    """The unsigned trust anchors of `ledger`'s deployment, read from the chain and its manifest."""
    d = ledger.deployment
    return TrustFile(chain_id=ledger.client.chain_id, genesis_hash=genesis_hash(ledger.client),
                     deployment_block=d.deployment_block,
                     contracts={n: Web3.to_checksum_address(d.addresses[n]) for n in CONTRACTS},
                     governed=sorted(ledger.governed), governance=Web3.to_checksum_address(d.governance),
                     authority=Web3.to_checksum_address(d.governance), issued_at=ledger.client.chain_time())


def make_trust(ledger: Ledger, account: LocalAccount, build: Build) -> tuple[TrustFile, list[TrustProblem]]:
    """The trust file of `ledger`'s deployment signed by `account`, and how it fails on chain (empty: it holds)."""
    trust = sign_trust(trust_from_chain(ledger), account)
    return trust, check_trust(trust, ledger.client, build)


def check_trust(trust: TrustFile, client: ChainClient, build: Build,
                authority: str | None = None) -> list[TrustProblem]:
    """Every way `trust` fails: its signature, the chain id, genesis hash, code at each address,
    governance as each governed contract's admin, the authority's standing on chain, and (when given) the
    authority the auditor expects. An empty list: the trust file holds."""
    problems: list[TrustProblem] = []
    try:
        signer = signer_of(trust)
        if signer != trust.authority:
            problems.append(TrustProblem("signature", f"signed by {signer}, not by the authority {trust.authority}"))
    except TrustFileError as exc:
        problems.append(TrustProblem("signature", str(exc)))
    if authority is not None and (not Web3.is_address(authority)
                                  or Web3.to_checksum_address(authority) != trust.authority):
        problems.append(TrustProblem("authority", f"the file's authority is {trust.authority}, you expect {authority}"))
    if client.chain_id != trust.chain_id:
        return [*problems, TrustProblem("chain_id", f"the chain's id is {client.chain_id}, not {trust.chain_id}")]
    actual = genesis_hash(client)
    if actual != trust.genesis_hash:
        return [*problems, TrustProblem("genesis_hash", f"the chain's genesis block is {actual}")]
    head = client.block_number()
    if trust.deployment_block > head:
        problems.append(TrustProblem("deployment_block", f"block {trust.deployment_block} is past the head {head}"))
    missing = [n for n in CONTRACTS if not client.has_code(trust.contracts[n])]
    problems += [TrustProblem(f"contracts.{n}", f"no code at {trust.contracts[n]}") for n in missing]
    if missing:
        return problems
    ledger = Ledger(client, trust.deployment(), build)
    for name in trust.governed:
        try:
            admin = ledger.default_admin(name)
        except (ChainError, Web3Exception) as exc:
            problems.append(TrustProblem(f"contracts.{name}", f"not a governed Provex contract: {exc}"))
            continue
        if admin != trust.governance:
            problems.append(TrustProblem(f"contracts.{name}", f"administered by {admin}, not governance "
                                                              f"{trust.governance}"))
    problems += _created_by_settlement(ledger, trust)
    if trust.authority != trust.governance and not ledger.has_role("DataRegistry", AUTHORITY_ROLE,
                                                                   trust.authority):
        problems.append(TrustProblem("authority", f"{trust.authority} is neither governance nor holds "
                                                  "AUTHORITY_ROLE on DataRegistry"))
    return problems


def contract_checkpoints(ledger: Ledger) -> list[Checkpoint]:
    """Every checkpoint read from the CheckpointLog contract itself: `count()`, then `checkpoint(i)`."""
    return [ledger.checkpoint(i) for i in range(ledger.checkpoint_count())]


def hint_mismatches(manifest: dict[str, Any] | None, trust: TrustFile) -> list[tuple[str, str]]:
    """Where an export's own deployment data disagrees with the trust file: (field, detail) pairs."""
    if manifest is None:
        return []
    out: list[tuple[str, str]] = []
    addresses = manifest.get("addresses") if isinstance(manifest.get("addresses"), dict) else {}
    assert isinstance(addresses, dict)
    for name in sorted(set(addresses) | set(trust.contracts)):
        theirs, ours = str(addresses.get(name, "")), trust.contracts.get(name, "")
        if theirs.lower() != ours.lower():
            out.append((f"addresses.{name}", f"the export says {theirs or 'nothing'}, the trust file "
                                             f"{ours or 'nothing'}"))
    for key in ("chain_id", "deployment_block"):
        if manifest.get(key) != getattr(trust, key):
            out.append((key, f"the export says {manifest.get(key)!r}, the trust file {getattr(trust, key)!r}"))
    if str(manifest.get("governance", "")).lower() != trust.governance.lower():
        out.append(("governance", f"the export says {manifest.get('governance')!r}, the trust file "
                                  f"{trust.governance}"))
    return out


def _read_manifest(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A deployment.json's data, or why it cannot be read (None, None when absent)."""
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    return (data, None) if isinstance(data, dict) else (None, "not a JSON object")


def verify_export_trusted(folder: Path, client: ChainClient, build: Build, trust: TrustFile,
                          authority: str | None = None,
                          progress: Callable[[int], None] | None = None, witnesses: Sequence[str] = (),
                          require_witness: bool = False, promises: Iterable[Promise] = ()) -> VerifyReport:
    """Verify an export against the contracts the trust file names, and only those.

    The trust file must hold (`check_trust`); the checkpoints come from its CheckpointLog (`count()`, then
    each one); the export's `deployment.json` is a hint, and where it disagrees with the trust file that is
    a `deployment_mismatch` divergence, named by field. Divergences of the log itself follow in `also`. The
    report lists who cosigned each checkpoint (`ledger.cosignatures`; `witnesses` are the ones expected). The
    export's promises (promises.jsonl) and those a participant collected (`promises`) are checked too.
    """
    refused = trust_refusal(trust, client, build, authority)
    if refused is not None:
        return refused
    ledger = Ledger(client, trust.deployment(), build)
    checkpoints = contract_checkpoints(ledger)
    report = verify_log(read_export(folder), checkpoints, progress, domain=statement_domain(ledger.deployment),
                        roles=RoleHistory.read(ledger),
                        promises=promise_book(ledger, [*export_promises(folder), *promises]))
    add_witnesses(report, ledger, checkpoints, witnesses, require_witness)
    report.notes.append(f"{report.checkpoints} checkpoints read from CheckpointLog {trust.contracts['CheckpointLog']}")
    hold_to_trust(report, folder / MANIFEST_FILE, trust)
    return report


def trust_refusal(trust: TrustFile, client: ChainClient, build: Build, authority: str | None) -> VerifyReport | None:
    """A `trust_refused` report when the trust file does not hold against the chain (`check_trust`), else None."""
    problems = check_trust(trust, client, build, authority)
    if not problems:
        return None
    first = problems[0]
    return VerifyReport(ok=False, records=0, anchored=0, checkpoints=0, seconds=0.0,
                        divergence=Divergence("trust_refused", "trust", None, first.field, None, first.detail),
                        notes=[f"{p.field}: {p.detail}" for p in problems])


def hold_to_trust(report: VerifyReport, manifest_path: Path, trust: TrustFile) -> None:
    """The exchange's (or export's) own deployment data is a hint: where it disagrees with the trust file, a
    `deployment_mismatch` divergence named by field comes first and the log's own follow in `also`."""
    manifest, unreadable = _read_manifest(manifest_path)
    hints = [Divergence("deployment_mismatch", manifest_path.name, None, f, None, d)
             for f, d in hint_mismatches(manifest, trust)]
    if unreadable is not None:
        hints.insert(0, Divergence("deployment_mismatch", manifest_path.name, None, None, None, unreadable))
    if hints:
        report.also = hints[1:] + ([report.divergence] if report.divergence is not None else []) + report.also
        report.divergence, report.ok = hints[0], False
    report.notes.append(f"contract addresses from the trust file signed by {trust.authority}")
    if manifest is None and unreadable is None:
        report.notes.append(f"no {manifest_path} to compare with the trust file")
