"""A typed Python client for the Provex API (httpx). The CLI, the demo, the portal and the tests use it.

    from api.client import ProvexClient
    with ProvexClient("http://127.0.0.1:8700", api_key="pxk_...") as px:
        page = px.catalog(q="livestock")
        lic = px.licenses()[0]
        result = px.query(lic["id"], "SELECT COUNT(*) FROM data GROUP BY banner", epsilon=0.2)

Every method returns the decoded JSON of the response (the shapes are the API's response models, see
`/docs`). A non-2xx answer raises `ApiError` with the API's `error` code, `detail` text and, for input
errors, the `field` it is about.

The methods are grouped by area (`registry`, `registration`, `trading`, `queries`, `verify`, `reports`, `assets` in this
package) over one transport (`base`). `ROUTES` (in `routes`) maps every API operation `(METHOD, path)` to the
client method that calls it; a test keeps it equal to the app's OpenAPI, so a new route without a client method
fails the suite.
"""

from __future__ import annotations

from api.client.assets import AssetCalls
from api.client.base import ApiError, Json
from api.client.queries import QueryAuditCalls
from api.client.registration import RegistrationCalls
from api.client.registry import RegistryCalls
from api.client.reports import ReportCalls
from api.client.routes import DEV_ROUTES, ROUTES
from api.client.trading import TradingCalls
from api.client.verify import VerifyCalls


class ProvexClient(RegistryCalls, RegistrationCalls, TradingCalls, QueryAuditCalls, ReportCalls, AssetCalls,
                   VerifyCalls):
    """One API key against one exchange, with a method for every API operation (see `ROUTES`)."""


__all__ = ["DEV_ROUTES", "ROUTES", "ApiError", "Json", "ProvexClient"]
