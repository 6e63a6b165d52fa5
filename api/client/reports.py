"""Client calls for maximum allowed revenue and annual reports."""

from __future__ import annotations

from api.client.base import ApiError, BaseClient, Json


class ReportCalls(BaseClient):
    """Maximum allowed revenue, revenue against it, publishing and downloading annual reports."""

    def set_allowed_revenue(self, operator_id: str, year: int, allowed_fen: int) -> Json:
        """`PUT /revenue/allowances` (authority): an operator's maximum allowed revenue for a year; returns the
        operator's year (allowed, carried, effective, revenue, excess, flags)."""
        body = {"operator_id": operator_id, "year": year, "allowed_fen": allowed_fen}
        return dict(self.request("PUT", "/revenue/allowances", json=body))

    def revenue(self, year: int, operator_id: str | None = None) -> list[Json]:
        """`GET /revenue`: per operator, revenue against the maximum allowed (an operator sees its own)."""
        return list(self.get("/revenue", year=year, operator_id=operator_id))

    def publish_report(self, year: int) -> Json:
        """`POST /reports` (authority or operator): publish the caller's annual report for `year`."""
        return dict(self.post("/reports", {"year": year}))

    def published_reports(self, year: int | None = None) -> list[Json]:
        """`GET /reports`: published reports, newest first (public)."""
        return list(self.get("/reports", year=year))

    def report(self, report_id: str) -> Json:
        """`GET /reports/{id}`: a published report's canonical JSON (public)."""
        return dict(self.get(f"/reports/{report_id}"))

    def report_file(self, report_id: str, fmt: str = "json") -> str:
        """A published report as downloaded: its JSON, CSV or HTML text (`GET /reports/{id}?format=`)."""
        r = self.http.get(f"/reports/{report_id}", params={"format": fmt})
        if r.status_code >= 400:
            raise ApiError(r.status_code, "http_error", r.text[:500], {})
        return r.text
