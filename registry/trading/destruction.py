"""Destruction confirmation: when a license ends, its holder confirms delivered copies are destroyed.

The confirmation is a ledger record (`destruction.confirmed`), anchored like every other record;
the provenance trace lists ended licenses still awaiting one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from ledger.ids import chain_id_of
from ledger.records import AppendedRecord, LedgerRecord, append_record
from registry.actor import Actor
from registry.errors import Conflict
from registry.models import Role
from registry.trading.licenses import buyers_license
from registry.trading.models import License, LicenseStatus

KIND = "destruction.confirmed"


def license_ended(lic: License, now: datetime | None = None) -> bool:
    """A license has ended when it was refunded or its validity window closed."""
    now = now or datetime.now(UTC)
    until = lic.valid_until if lic.valid_until.tzinfo else lic.valid_until.replace(tzinfo=UTC)
    return lic.status == LicenseStatus.REFUNDED or now >= until


def confirmations(session: Session, product_id: str) -> set[str]:
    """License ids with a destruction confirmation, for one product."""
    rows = session.exec(select(LedgerRecord.body).where(LedgerRecord.kind == KIND,
                                                        LedgerRecord.subject == product_id))
    return {json.loads(body)["data"]["license_id"] for body in rows}


def open_destructions(session: Session, product_id: str) -> list[str]:
    """Ended licenses of the product whose copies are not yet confirmed destroyed."""
    done = confirmations(session, product_id)
    licenses = session.exec(select(License).where(License.product_id == product_id).order_by(col(License.pk)))
    return [lic.id for lic in licenses if license_ended(lic) and lic.id not in done]


def confirm_destruction(session: Session, actor: Actor, license_id: str, statement: str) -> AppendedRecord:
    """The license holder confirms destruction of every copy it received under an ended license."""
    actor.require(Role.BUYER)
    lic = buyers_license(session, actor, license_id)
    if not license_ended(lic):
        raise Conflict(f"license {license_id} is still valid until {lic.valid_until.isoformat()}; "
                       "destruction is confirmed after it ends")
    if lic.id in confirmations(session, lic.product_id):
        raise Conflict(f"destruction of license {license_id} is already confirmed")
    return append_record(session, kind=KIND, actor=actor.id, subject=lic.product_id,
                         data={"license_id": lic.id, "license_chain_id": "0x" + chain_id_of(lic.id).hex(),
                               "statement": statement, "confirmed_at": datetime.now(UTC).isoformat()})
