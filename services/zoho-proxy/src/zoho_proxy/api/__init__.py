"""HTTP surface of the proxy."""
