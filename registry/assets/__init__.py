"""Data-asset evidence (数据资产入表): costs the operator declares per product, the product's cost and revenue
ledger, and the evidence export an accountant files (docs/data-assets.md)."""
