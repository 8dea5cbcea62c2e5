"""TDS zoho-proxy."""
