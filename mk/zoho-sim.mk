# The Zoho simulator (tools/zoho-sim): run it alone in the foreground, e.g. to poke it with curl.
.PHONY: sim
sim: ## Run the Zoho simulator in the foreground on :8090 (ZOHO_SIM_* settings, see tools/zoho-sim/README.md)
	$(RUN) python -m zoho_sim
