"""Client calls for the registration procedure: public notices, objections, listing, revisions, corrections,
cancellations."""

from __future__ import annotations

from collections.abc import Mapping

from api.client.base import BaseClient, Json


class RegistrationCalls(BaseClient):
    """The public notice after approval (objections, their resolution, the listing); change, correction and
    cancellation registrations."""

    def notices(self) -> list[Json]:
        """`GET /notices`: products in their public notice (public)."""
        return list(self.get("/notices"))

    def notice(self, ref: str) -> Json:
        """`GET /notices/{ref}`: a product's public notice: its end and objection counts (public)."""
        return dict(self.get(f"/notices/{ref}"))

    def object_to(self, ref: str, reasons: str) -> Json:
        """`POST /products/{ref}/objections` (any account): object to a product in its public notice."""
        return dict(self.post(f"/products/{ref}/objections", {"reasons": reasons}))

    def objections(self, ref: str) -> list[Json]:
        """`GET /products/{ref}/objections`: objections with their reasons and resolutions."""
        return list(self.get(f"/products/{ref}/objections"))

    def resolve_objection(self, ref: str, objection_id: str, decision: str, reasons: str) -> Json:
        """`POST /products/{ref}/objections/{objection_id}/resolution` (exchange): upheld (rejects the product)
        or dismissed."""
        return dict(self.post(f"/products/{ref}/objections/{objection_id}/resolution",
                              {"decision": decision, "reasons": reasons}))

    def complete_listing(self, ref: str) -> Json:
        """`POST /products/{ref}/listing` (exchange): list a product whose notice ended with no open objection."""
        return dict(self.post(f"/products/{ref}/listing"))

    def propose_revision(self, ref: str, patch: Json) -> Json:
        """`POST /products/{ref}/revisions` (operator, own): a pending change to a listed product."""
        return dict(self.post(f"/products/{ref}/revisions", patch))

    def revisions(self, ref: str, kind: str | None = None) -> list[Json]:
        """`GET /products/{ref}/revisions`: a product's applications (changes, corrections, cancellations; or one
        `kind`) with their status and reasons."""
        return list(self.get(f"/products/{ref}/revisions", kind=kind))

    def decide_revision(self, ref: str, revision_id: str, decision: str, checklist: Mapping[str, bool],
                        reasons: str) -> Json:
        """`POST /products/{ref}/revisions/{revision_id}/decision` (exchange): approve or reject."""
        return dict(self.post(f"/products/{ref}/revisions/{revision_id}/decision",
                              {"decision": decision, "checklist": dict(checklist), "reasons": reasons}))

    def publish_revision(self, ref: str, revision_id: str) -> Json:
        """`POST /products/{ref}/revisions/{revision_id}/publish` (operator, own): the approved revision replaces
        the listed version (new hash on chain, new certificate)."""
        return dict(self.post(f"/products/{ref}/revisions/{revision_id}/publish"))

    def file_correction(self, ref: str, changes: Json, evidence: str) -> Json:
        """`POST /products/{ref}/corrections` (the product's operator, or the exchange): a pending correction of
        wrong registration facts; decided and published as a revision."""
        return dict(self.post(f"/products/{ref}/corrections", {"changes": dict(changes), "evidence": evidence}))

    def apply_for_cancellation(self, ref: str, reasons: str) -> Json:
        """`POST /products/{ref}/cancellations` (operator, own): apply to cancel the product's registration."""
        return dict(self.post(f"/products/{ref}/cancellations", {"reasons": reasons}))

    def decide_cancellation(self, ref: str, revision_id: str, decision: str, reasons: str) -> Json:
        """`POST /products/{ref}/cancellations/{revision_id}/decision` (exchange): approve (the product is
        delisted, its certificates cancelled) or reject."""
        return dict(self.post(f"/products/{ref}/cancellations/{revision_id}/decision",
                              {"decision": decision, "reasons": reasons}))
