"""Every table module, imported for SQLModel's metadata: the database and migration set-up import this."""

import ledger.records  # noqa: F401  (ledger records and checkpoints)
import registry.assets.models
import registry.models
import registry.portal_notes
import registry.queries.models  # provider nodes, query policies, model fits
import registry.reports.models
import registry.sessions
import registry.trading.models  # noqa: F401  (offers, orders, licenses, vouchers, negotiations)
