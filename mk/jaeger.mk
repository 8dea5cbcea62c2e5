# Jaeger v2 for the local stack (`make up` starts it when built) and for the end-to-end test that
# follows one webhook through every service (tests/e2e/test_tracing.py). The `jaeger` program is
# built by mk/go.mk's go-build-module (Jaeger's go.mod has a replace directive), its version
# stamped in (`jaeger version` prints it: the cache check), and kept outside the clone.
# JAEGER_MODULE_VERSION v1.76.0 is Jaeger's v2.13.0 release (the module keeps v1 tags).
JAEGER_MODULE := github.com/jaegertracing/jaeger
JAEGER_MODULE_VERSION := v1.76.0
JAEGER := $(CURDIR)/.local/bin/jaeger

.PHONY: jaeger
jaeger: ## Build Jaeger v2 (pinned) from the Go module proxy, cached outside the clone, into .local/bin
	$(call go-build-module,$(JAEGER),$(JAEGER_MODULE),$(JAEGER_MODULE_VERSION),cmd/jaeger,-X $(JAEGER_MODULE)/internal/version.latestVersion=$(JAEGER_MODULE_VERSION),"gitVersion":"$(JAEGER_MODULE_VERSION)")

# make test's e2e tracing test needs it.
TEST_TOOLS += jaeger
