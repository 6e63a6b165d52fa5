"""Client calls for data-asset evidence (数据资产入表): declared costs, the asset ledger, the evidence export."""

from __future__ import annotations

import io
import zipfile

from api.client.base import ApiError, BaseClient, Json


class AssetCalls(BaseClient):
    """Costs a product's operator declares, the product's cost and revenue ledger, and the accountant's export."""

    def declare_cost(self, ref: str, incurred_on: str, category: str, amount_fen: int, description: str,
                     evidence_hash: str | None = None, corrects: str | None = None) -> Json:
        """`POST /products/{ref}/costs` (the product's own operator): declare a cost, or correct the entry
        `corrects` (this entry then counts instead; amount 0 withdraws it). `incurred_on` is YYYY-MM-DD;
        `category` one of collection, processing, storage, computing, personnel, compliance, other."""
        body: Json = {"incurred_on": incurred_on, "category": category, "amount_fen": amount_fen,
                      "description": description, "evidence_hash": evidence_hash, "corrects": corrects}
        return dict(self.post(f"/products/{ref}/costs", body))

    def costs(self, ref: str) -> list[Json]:
        """`GET /products/{ref}/costs`: the product's cost entries, oldest first, with their corrections."""
        return list(self.get(f"/products/{ref}/costs"))

    def asset_ledger(self, ref: str, year: int | None = None) -> Json:
        """`GET /products/{ref}/asset-ledger`: per month, costs by category and revenue, cumulative totals, and
        the lines with the records behind them (the operator of the product, authority, exchange, auditor)."""
        return dict(self.get(f"/products/{ref}/asset-ledger", year=year))

    def asset_evidence(self, ref: str, year: int) -> Json:
        """`GET /products/{ref}/asset-evidence?year=`: the accountant's evidence export, unpacked: file name ->
        its text (README.txt, ledger.csv, certificate.json, records.jsonl, ...). The ZIP itself:
        `asset_evidence_zip`."""
        with zipfile.ZipFile(io.BytesIO(self.asset_evidence_zip(ref, year))) as z:
            return {name: z.read(name).decode("utf-8-sig") for name in z.namelist()}

    def asset_evidence_zip(self, ref: str, year: int) -> bytes:
        """The evidence export as downloaded (ZIP bytes)."""
        r = self.http.get(f"/products/{ref}/asset-evidence", params={"year": year})
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"error": "http_error", "detail": r.text[:500]}
            raise ApiError(r.status_code, str(body.get("error", "http_error")), str(body.get("detail", "")), body)
        return r.content
