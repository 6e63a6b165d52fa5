"""Promises at write time: the exchange's signed word that a record will be anchored by a deadline.

When a record is appended, the recorder key (the one that must anchor it) signs a `provex-promise/1`: chain,
CheckpointLog, sequence number, leaf hash, time of issue and the most seconds anchoring may take. The writer
gets it in the write's response and can hold the exchange to it: a record anchored late, or missing from the
log, is a violation anyone can prove with the promise and the chain (docs/ledger-format.md, "Promises").

Pure functions and plain data; the record log calls `Promiser` (installed per database engine) and the
verifier uses `PromiseBook`; witnesses use `overdue`.
"""

from __future__ import annotations

import bisect
import json
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from ledger.canonical import RecordFormatError, canonical_json
from ledger.chain_types import Checkpoint
from ledger.secp256k1 import message_problem, sign_message

FORMAT = "provex-promise/1"
FIELDS = ("format", "chain_id", "log", "seq", "leaf_hash", "issued_at", "max_delay_s", "signer", "signature")


class PromiseError(ValueError):
    """Not a well-formed promise."""


@dataclass(frozen=True)
class Promise:
    """A signed promise; `message()` is what the signature covers (every field but `signature`)."""

    chain_id: int
    log: str
    seq: int
    leaf_hash: str
    issued_at: int
    max_delay_s: int
    signer: str
    signature: str
    format: str = FORMAT

    @property
    def deadline(self) -> int:
        """The last unix second at which the anchoring checkpoint's block may be stamped."""
        return self.issued_at + self.max_delay_s

    def message(self) -> bytes:
        return canonical_json({k: v for k, v in self.as_json().items() if k != "signature"})

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in FIELDS}

    def text(self) -> str:
        """The promise as one line of canonical JSON (how it is stored, sent and exported)."""
        return canonical_json(self.as_json()).decode("ascii")

    @classmethod
    def parse(cls, data: Any) -> Promise:
        """A promise from its JSON object (or text); strict: exactly these fields, with their types."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise PromiseError(f"not JSON: {exc}") from None
        if not isinstance(data, dict) or set(data) != set(FIELDS):
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise PromiseError(f"a promise has exactly the fields {', '.join(FIELDS)}; got {got}")
        if data["format"] != FORMAT:
            raise PromiseError(f"format must be {FORMAT!r}, not {data['format']!r}")
        for k in ("chain_id", "seq", "issued_at", "max_delay_s"):
            if not isinstance(data[k], int) or isinstance(data[k], bool) or data[k] < 0:
                raise PromiseError(f"{k} must be a non-negative integer, not {data[k]!r}")
        for k in ("log", "leaf_hash", "signer", "signature"):
            if not isinstance(data[k], str):
                raise PromiseError(f"{k} must be a string, not {data[k]!r}")
        return cls(**data)


def read_promises(text: str, where: str = "promises") -> list[Promise]:
    """Promises from a JSON list (as in the `Provex-Record-Promises` header) or JSON lines (as exported);
    PromiseError names the bad entry."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except ValueError as exc:
            raise PromiseError(f"{where}: not JSON: {exc}") from None
        entries = list(enumerate(items if isinstance(items, list) else [items], 1))
    else:
        entries = [(i, line) for i, line in enumerate(stripped.splitlines(), 1) if line.strip()]
    out = []
    for i, item in entries:
        try:
            out.append(Promise.parse(item))
        except PromiseError as exc:
            raise PromiseError(f"{where}: entry {i}: {exc}") from None
    return out


def signer_of(p: Promise) -> str:
    """The address whose key signed `p` (EIP-191 over `p.message()`); raises PromiseError when unreadable."""
    try:
        return str(Account.recover_message(encode_defunct(primitive=p.message()),
                                           signature=bytes.fromhex(p.signature.removeprefix("0x"))))
    except (ValueError, TypeError, RecordFormatError) as exc:
        raise PromiseError(f"unreadable signature: {exc}") from None


@dataclass(frozen=True)
class Promiser:
    """Issues promises with the recorder's key for one CheckpointLog, `max_delay_s` after each write."""

    recorder: LocalAccount
    chain_id: int
    log: str
    max_delay_s: int

    def promise(self, seq: int, leaf_hash_hex: str, at: datetime) -> Promise:
        unsigned = Promise(self.chain_id, self.log, seq, leaf_hash_hex, int(at.timestamp()), self.max_delay_s,
                           self.recorder.address, "")
        signature = sign_message(unsigned.message(), bytes(self.recorder.key))
        return replace(unsigned, signature="0x" + signature.hex())


# ------------------------------------------------------------ issuing within a database transaction

_PROMISERS: weakref.WeakKeyDictionary[Any, Promiser] = weakref.WeakKeyDictionary()
PENDING = "provex.promises.pending"  # session.info: promises of records appended in the open transaction
DELIVERED = "provex.promises.delivered"  # session.info: a list the caller reads; committed promises go there


def install(engine: Any, promiser: Promiser | None) -> None:
    """Every record appended through `engine` from now on gets a promise from `promiser` (None: no promises)."""
    if promiser is None:
        _PROMISERS.pop(engine, None)
    else:
        _PROMISERS[engine] = promiser


def promiser_of(engine: Any) -> Promiser | None:
    return _PROMISERS.get(engine)


def issued(session: OrmSession, promise: Promise) -> None:
    """Note a promise made in `session`'s transaction; it is delivered when (and only if) that commits."""
    session.info.setdefault(PENDING, []).append(promise)


@event.listens_for(OrmSession, "after_commit")
def _deliver(session: OrmSession) -> None:
    pending = session.info.pop(PENDING, None)
    delivered = session.info.get(DELIVERED)
    if pending and delivered is not None:
        delivered.extend(pending)


@event.listens_for(OrmSession, "after_rollback")
def _forget(session: OrmSession) -> None:
    session.info.pop(PENDING, None)


# ------------------------------------------------------------------------------------ checking

@dataclass(frozen=True)
class Broken:
    """A promise not kept (or not a valid promise): the record's sequence number, what, and which checkpoint."""

    seq: int
    field: str
    checkpoint: int | None
    detail: str


def anchoring_checkpoint(seq: int, checkpoints: list[Checkpoint], sizes: list[int] | None = None) -> Checkpoint | None:
    """The first checkpoint (in chain order, sizes increasing) whose tree contains record `seq`."""
    sizes = sizes if sizes is not None else [c.tree_size for c in checkpoints]
    i = bisect.bisect_right(sizes, seq)
    return checkpoints[i] if i < len(checkpoints) else None


def status(p: Promise, anchored_at: int | None, now: int) -> str:
    """`kept` (anchored, by a block stamped `anchored_at`, by the deadline), `pending` (not yet anchored, the
    deadline still ahead at `now`, the chain's time) or `broken`."""
    if anchored_at is not None:
        return "kept" if anchored_at <= p.deadline else "broken"
    return "pending" if now <= p.deadline else "broken"


def overdue(promises: Iterable[Promise], checkpoints: list[Checkpoint], now: int) -> list[Promise]:
    """The promises broken by time alone (for a witness): not anchored by their deadline, judged by `now` (the
    chain's time) or by the anchoring checkpoint's own timestamp. `checkpoints` must carry their timestamps."""
    sizes = [c.tree_size for c in checkpoints]
    out = []
    for p in promises:
        cp = anchoring_checkpoint(p.seq, checkpoints, sizes)
        if status(p, cp.timestamp if cp else None, now) == "broken":
            out.append(p)
    return out


@dataclass
class PromiseBook:
    """Checks promises against a log as the verifier walks it: those stored with records, and those a participant
    collected (`collected`). Feed each record with `see`, then `finish` for the timing and the missing ones.

    A promise must be signed by its `signer`, who must be a recorder of the trusted log (`is_recorder`), name
    the trusted chain and CheckpointLog, and match the record's sequence number and leaf hash. It is kept when
    the checkpoint anchoring its record was stamped (`time_of`) by its deadline; a record not anchored yet
    breaks it once `now` (the chain's time) is past the deadline."""

    chain_id: int
    log: str
    is_recorder: Callable[[str], bool]
    now: int
    time_of: Callable[[Checkpoint], int]
    collected: dict[int, list[Promise]] = field(default_factory=dict)
    broken: list[Broken] = field(default_factory=list)
    _timed: list[tuple[int, int]] = field(default_factory=list)  # (seq, deadline) of every promise to time
    kept: int = 0
    pending: int = 0

    def collect(self, promises: Iterable[Promise]) -> None:
        for p in promises:
            self.collected.setdefault(p.seq, []).append(p)

    def _check(self, p: Promise, seq: int, leaf_hex: str) -> Broken | None:
        if p.chain_id != self.chain_id or p.log.lower() != self.log.lower():
            return Broken(seq, "promise.log", None, f"promise names chain {p.chain_id} log {p.log}, not the "
                                                    f"trusted {self.chain_id} {self.log}")
        if p.seq != seq or p.leaf_hash != leaf_hex:
            return Broken(seq, "promise.leaf_hash", None, f"promise for record {p.seq} with leaf {p.leaf_hash} but "
                                                          f"record {seq} hashes to {leaf_hex}")
        problem = message_problem(p.message(), p.signature, p.signer)
        if problem is not None:
            return Broken(seq, "promise.signature", None, problem)
        if not self.is_recorder(p.signer):
            return Broken(seq, "promise.signer", None, f"{p.signer} is not a recorder of the trusted log")
        return None

    def see(self, seq: int, leaf: bytes, stored: str | None) -> None:
        """Record `seq` (leaf hash `leaf`) with the promise stored beside it, if any."""
        mine = self.collected.pop(seq, []) if self.collected else []
        if stored is not None:
            try:
                mine = [Promise.parse(stored), *mine]
            except PromiseError as exc:
                self.broken.append(Broken(seq, "promise", None, f"stored promise unreadable: {exc}"))
        for p in mine:
            problem = self._check(p, seq, leaf.hex())
            if problem is not None:
                self.broken.append(problem)
            else:
                self._timed.append((seq, p.deadline))

    def finish(self, size: int, checkpoints: list[Checkpoint]) -> list[Broken]:
        """Every broken promise, in sequence order: missing records (collected promises past the log's `size`)
        and records anchored after their deadline, or not anchored with the deadline past."""
        for seq in sorted(self.collected):
            for p in self.collected[seq]:
                self.broken.append(Broken(seq, "seq", None, f"promised record {seq} (issued at {p.issued_at}) is "
                                                            f"missing: the log has {size} records"))
        sizes = [c.tree_size for c in checkpoints]
        for seq, deadline in self._timed:
            cp = anchoring_checkpoint(seq, checkpoints, sizes)
            at = self.time_of(cp) if cp is not None else None
            if cp is not None and at is not None and at <= deadline:
                self.kept += 1
            elif cp is not None and at is not None:
                self.broken.append(Broken(seq, "anchored_at", cp.index, f"anchored by checkpoint #{cp.index} at "
                                          f"{at}, {at - deadline} s after the promised deadline {deadline}"))
            elif self.now > deadline:
                self.broken.append(Broken(seq, "anchored_at", None, f"not anchored, and the promised deadline "
                                                                    f"{deadline} passed (chain time {self.now})"))
            else:
                self.pending += 1
        return sorted(self.broken, key=lambda b: b.seq)
