"""TDS bulk-sync."""
