"""TDS processor."""
