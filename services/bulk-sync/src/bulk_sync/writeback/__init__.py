"""Write-back: the ERP's changes reach Zoho exactly once, in order, without clobbering Zoho.

The ERP writes ``tds_outbox`` rows in its own transaction (or ``POST /api/zoho/writes``); the
relay (:mod:`.relay`) sends each to Zoho through zoho-proxy on the ``write`` lane and mirrors
Zoho's answer at once (source ``tds-write``). Modules: :mod:`.settings`, :mod:`.shapes` (Zoho's
request shapes per entity, the idempotency key, local_ref references), :mod:`.store` (the
outbox and the local_ref mapping), :mod:`.client` (the proxy calls), :mod:`.decide` (what a
write comes to), :mod:`.relay`, :mod:`.routes`, :mod:`.lifecycle`, :mod:`.metrics`. The webhook
Zoho sends back for TDS's own write is recognised (and skipped) by the processor through
:mod:`tds_common.echo`.
"""
