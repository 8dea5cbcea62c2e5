"""HTTP routes: Zoho's surface (OAuth and the Books/Inventory APIs) and the health probes."""
