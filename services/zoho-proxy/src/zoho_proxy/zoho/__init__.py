"""Clients of external systems: Zoho."""
