"""The cost categories an operator declares a product's costs under (数据资产入表); a leaf module, so the CLI
can name them without loading the ledger."""

CATEGORIES = ("collection", "processing", "storage", "computing", "personnel", "compliance", "other")
