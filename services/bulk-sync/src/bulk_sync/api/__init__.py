"""HTTP API of bulk-sync."""
