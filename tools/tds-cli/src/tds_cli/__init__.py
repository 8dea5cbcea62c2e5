"""``tds``: one command line for operating TDS through its services' APIs and database."""
