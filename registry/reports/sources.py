"""What a report is computed from: the record log up to a size and DataRegistry's events up to a block, the same
whether read from the database or from an export (so the auditor recomputes exactly what was published)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger.contracts import Ledger
from ledger.events import read_events
from ledger.ids import chain_id_of
from ledger.verify import StoredRecord

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REGISTRY_EVENTS = {"ResourceRegistered", "AuthorizationGranted", "AuthorizationRevoked", "AuthorizationLimited",
                   "ProductRegistered", "ProductStatusChanged"}
STATUS = {1: "registered", 2: "listed", 3: "suspended", 4: "delisted"}


def h(value: bytes | bytearray) -> str:
    return "0x" + bytes(value).hex()


@dataclass
class Sources:
    """Records (parsed, `seq < log_size`), DataRegistry events (block <= `block`, with their block time `at`), and
    the lookups both need: chain id -> database id, bound address -> account id, account id -> name."""

    log_size: int
    block: int
    records: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def id_of(self, chain_id: str) -> str:
        """The database id a chain id stands for, when a record names it; else the chain id itself."""
        return self.ids.get(chain_id, chain_id)

    def account_of(self, address: str) -> str:
        return self.accounts.get(address.lower(), address.lower())

    def operator_of(self) -> dict[str, str]:
        """Product id -> operator account id, from ProductRegistered."""
        return {self.id_of(e["product"]): self.account_of(e["operator"]) for e in self.events
                if e["name"] == "ProductRegistered"}


def _note_ids(src: Sources, rec: dict[str, Any]) -> None:
    values = [rec["subject"], rec.get("authorization"), *rec["data"].values(),
              *rec["data"].get("suspended_products", [])]
    for v in values:
        if isinstance(v, str) and UUID.match(v):
            src.ids.setdefault(h(chain_id_of(v)), v)


def _event(name: str, a: dict[str, Any]) -> dict[str, Any]:
    """An event's arguments as plain JSON values (ids and addresses as lower-case hex)."""
    out: dict[str, Any] = {}
    for k, v in a.items():
        if isinstance(v, (bytes, bytearray)):
            out[k] = h(v)
        elif isinstance(v, (list, tuple)):
            out[k] = [h(x) if isinstance(x, (bytes, bytearray)) else x for x in v]
        elif isinstance(v, str):
            out[k] = v.lower()
        else:
            out[k] = int(v)
    key = {"resourceId": "resource", "authorizationId": "authorization", "productId": "product",
           "resourceIds": "resources"}
    return {"name": name, **{key.get(k, k): v for k, v in out.items()}}


def load(records: Iterable[StoredRecord], ledger: Ledger, log_size: int, block: int) -> Sources:
    """Records below `log_size` and DataRegistry's events up to `block`, with their block times."""
    src = Sources(log_size, block)
    for stored in records:
        if stored.seq >= log_size:
            break
        rec = json.loads(stored.body)
        src.records.append(rec)
        _note_ids(src, rec)
        if rec["kind"] == "account.bound":
            src.accounts[str(rec["data"]["address"]).lower()] = rec["actor"]
            src.names[rec["actor"]] = str(rec["data"]["name"])
    times: dict[int, int] = {}
    client = ledger.client
    for ev in read_events(client, "DataRegistry", ledger.contracts["DataRegistry"], ledger.deployment.deployment_block,
                          block, names=REGISTRY_EVENTS):
        if ev.block_number not in times:
            times[ev.block_number] = client.block_time(ev.block_number)
        src.events.append({**_event(ev.name, ev.args), "at": times[ev.block_number], "tx": ev.tx_hash})
    return src
