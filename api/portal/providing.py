"""The provider's page: its node (identity, registered policy hash, live state), the signed policy it enforces
now (columns and their allowed uses, noise floor, minimum group size, daily limit), the products listing it and
the queries run on them; and the form to register or move its node (signed in the browser by the provider's
own key, `POST /providers/me/node`)."""

from __future__ import annotations

from fastapi import Depends
from fastapi.responses import Response

from api.portal.operating import error_texts
from api.portal.web import Page, page, portal_router

router = portal_router()


@router.get("/provider")
def provider_home(p: Page = Depends(page("provider"))) -> Response:
    status = p.client.my_node_status()
    return p.render("provider.html", mine=status, node=status["node"], policy=status["policy"],
                    queries=p.client.my_served_queries(), error_texts=error_texts(p.lang))
