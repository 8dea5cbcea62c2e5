"""A faithful Zoho Books v3 / Inventory v1 simulator (see shared zoho-api.md)."""
