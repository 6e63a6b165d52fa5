"""Provider nodes known to the exchange, and the exchange's own coordinator key.

A provider account registers the node it runs (URL and Ed25519 identity key). The exchange
fetches the node's `GET /identity` (only at an allowed address: `registry.queries.egress`) and accepts
the registration only when the node answers with the submitted key and id, and already trusts the
exchange's coordinator key (otherwise every protocol round would be refused later). Every failure is
the same generic error, so registration is no probe of the exchange's network. Products reference
provider accounts; their registered nodes are the endpoints the coordinator talks to.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, col, select

from ledger.records import append_record
from privacy.coordinator import ProviderEndpoint
from privacy.provider.policy import PolicyFormatError, verify_policy
from privacy.secagg.constants import PROTOCOL
from privacy.secagg.crypto import load_public_key, public_key_hex
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Product, Role
from registry.queries.egress import NodeAddressPolicy, NodeUnverified, fetch_identity, fetch_node_json
from registry.queries.models import ProviderNode
from registry.queries.partition import check_provider_products
from registry.queries.schemas import NodeIn, NodeOut

COORDINATOR_KEY_FILE = "coordinator.key"
UNVERIFIED = ("the node could not be verified: it must run at an address the exchange allows "
              "(PROVEX_PROVIDER_ALLOW), answer GET /identity directly (no redirect) with protocol "
              f"{PROTOCOL}, the submitted node_id, public_key and policy_hash, and trust this exchange's "
              "coordinator key (start it with `provex provider serve --exchange <api url>`)")


# ------------------------------------------------------------------ coordinator key

def load_or_create_coordinator_key(home: Path) -> Ed25519PrivateKey:
    """The exchange's coordinator Ed25519 key: `<home>/coordinator.key` (raw seed, 0600), created once."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / COORDINATOR_KEY_FILE
    if path.exists():
        return Ed25519PrivateKey.from_private_bytes(path.read_bytes())
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(seed)
    try:
        os.link(tmp, path)  # complete or absent: a process starting beside this one reads the winner's key
    except FileExistsError:
        return Ed25519PrivateKey.from_private_bytes(path.read_bytes())
    finally:
        tmp.unlink()
    (home / "coordinator.pub").write_text(public_key_hex(key) + "\n")
    return key


def coordinator_identity(key: Ed25519PrivateKey) -> dict[str, str]:
    """What `GET /coordinator/identity` publishes (providers pass `public_key` to their node)."""
    return {"public_key": public_key_hex(key), "protocol": PROTOCOL}


# ---------------------------------------------------------------------- node registry

def identity_matches(ident: dict[str, Any], node_id: str, public_key: str, policy_hash: str | None,
                     coordinator_pubkey: str) -> bool:
    """The node's live `GET /identity` shows this id, key and policy hash, and trusts this exchange's coordinator
    (at registration: what was submitted; at listing: what was registered)."""
    return (ident.get("protocol") == PROTOCOL and str(ident.get("public_key", "")).lower() == public_key
            and ident.get("node") == node_id and ident.get("coordinator_key") == coordinator_pubkey
            and ident.get("policy_hash") == policy_hash)


def _check_identity(data: NodeIn, ident: dict[str, Any], coordinator_pubkey: str) -> None:
    if not identity_matches(ident, data.node_id, data.public_key, data.policy_hash, coordinator_pubkey):
        raise NodeUnverified


def _id_prefixes(data: NodeIn, egress: NodeAddressPolicy) -> list[str] | None:
    """The privacy-ID prefixes of the node's signed policy (fetched, verified, hashing to the submitted hash)."""
    if data.policy_hash is None:
        return None
    try:
        policy = verify_policy(fetch_node_json(data.url, "/policy", egress), data.node_id,
                               load_public_key(data.public_key))
    except (PolicyFormatError, ValueError):
        raise NodeUnverified("policy") from None
    if policy.hash() != data.policy_hash:
        raise NodeUnverified("policy")
    return list(policy.privacy_unit.prefixes) if policy.privacy_unit and policy.privacy_unit.prefixes else None


def register_node(session: Session, actor: Actor, data: NodeIn, coordinator_pubkey: str,
                  policy: NodeAddressPolicy) -> ProviderNode:
    """Register (or move) the caller's node after checking its live identity and the policy it enforces;
    records `provider.node` (with the policy hash) on the ledger."""
    actor.require(Role.PROVIDER)
    try:
        _check_identity(data, fetch_identity(data.url, policy), coordinator_pubkey)
        prefixes = _id_prefixes(data, policy)
    except NodeUnverified:
        raise InvalidInput("url", UNVERIFIED) from None
    taken = session.exec(select(ProviderNode).where(ProviderNode.node_id == data.node_id,
                                                    ProviderNode.account_id != actor.id)).first()
    if taken is not None:
        raise Conflict(f"node id {data.node_id} is registered by another provider")
    row = session.get(ProviderNode, actor.id)
    now = datetime.now(UTC)
    if row is None:
        row = ProviderNode(account_id=actor.id, node_id=data.node_id, url=data.url, public_key=data.public_key,
                           policy_hash=data.policy_hash, registered_at=now, updated_at=now)
    else:
        row.node_id, row.url, row.public_key, row.updated_at = data.node_id, data.url, data.public_key, now
        row.policy_hash = data.policy_hash
    row.id_prefixes = prefixes
    session.add(row)
    session.flush()
    check_provider_products(session, actor.id)  # its partitioned products keep disjoint ID prefixes
    append_record(session, kind="provider.node", actor=actor.id, subject=actor.id,
                  data={"node_id": data.node_id, "url": data.url, "public_key": data.public_key,
                        "policy_hash": data.policy_hash})
    return row


def own_node(session: Session, actor: Actor) -> ProviderNode:
    actor.require(Role.PROVIDER)
    row = session.get(ProviderNode, actor.id)
    if row is None:
        raise NotFound("you have not registered a provider node; POST /providers/me/node")
    return row


def list_nodes(session: Session) -> list[ProviderNode]:
    return list(session.exec(select(ProviderNode).order_by(col(ProviderNode.node_id))).all())


def node_view(row: ProviderNode) -> NodeOut:
    return NodeOut(account_id=row.account_id, node_id=row.node_id, url=row.url, public_key=row.public_key,
                   policy_hash=row.policy_hash, registered_at=row.registered_at, updated_at=row.updated_at)


def product_endpoints(session: Session, product: Product) -> tuple[list[ProviderEndpoint], list[str]]:
    """The registered nodes of the product's providers (in `provider_ids` order, with the policy hash each
    must report), and the provider accounts that have no node registered."""
    ids = list(product.provider_ids)
    nodes = {n.account_id: n for n in session.exec(
        select(ProviderNode).where(col(ProviderNode.account_id).in_(ids))).all()}
    endpoints = [ProviderEndpoint(nodes[p].node_id, nodes[p].url, nodes[p].public_key, nodes[p].policy_hash)
                 for p in ids if p in nodes]
    return endpoints, [p for p in ids if p not in nodes]
