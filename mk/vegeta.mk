# vegeta, the compiled open-loop HTTP load generator the end-to-end bench drives its webhooks with
# (bench/loadgen/): in Go it costs less than half the CPU per request of the Python generator, CPU
# that would otherwise be taken from the services it measures on the same cores (bench/README.md
# has the numbers). Built with `go install` from the Go module proxy as mk/go.mk says, once per
# machine and version (mk/k8s.mk's go-install-pinned). `make bench` needs it; `make test` does not.
VEGETA_MODULE := github.com/tsenart/vegeta/v12
VEGETA_VERSION := v12.13.0
VEGETA := $(CURDIR)/.local/bin/vegeta

.PHONY: vegeta
vegeta: ## Build vegeta (pinned, the e2e bench's load generator) into .local/bin with go install (cached)
	$(call go-install-pinned,$(VEGETA),$(VEGETA_MODULE),$(VEGETA_VERSION),$(VEGETA_MODULE))
