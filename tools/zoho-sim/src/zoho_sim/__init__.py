"""A faithful Zoho Books v3 / Inventory v1 simulator (see docs/zoho-api.md)."""
