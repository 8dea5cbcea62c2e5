"""The HTTP surface of ingest: the webhook endpoints and the inbox stats."""
