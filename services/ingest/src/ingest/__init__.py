"""TDS ingest."""
