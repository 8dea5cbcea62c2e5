# skaffold for `make dev` and for the tests that run `skaffold diagnose` and `skaffold render`
# against skaffold.yaml (tests/unit/k8s/test_skaffold.py; no cluster, no image build). Built by
# mk/go.mk's go-build-module (skaffold's go.mod has replace directives), its version stamped in
# as skaffold's release Makefile does (`skaffold version` prints it: the cache check), and kept
# outside the clone.
SKAFFOLD_MODULE := github.com/GoogleContainerTools/skaffold/v2
SKAFFOLD_VERSION := v2.16.1
SKAFFOLD := $(CURDIR)/.local/bin/skaffold

.PHONY: skaffold
skaffold: ## Build skaffold (pinned) from the Go module proxy, cached outside the clone, into .local/bin
	$(call go-build-module,$(SKAFFOLD),$(SKAFFOLD_MODULE),$(SKAFFOLD_VERSION),cmd/skaffold,-X $(SKAFFOLD_MODULE)/pkg/skaffold/version.version=$(SKAFFOLD_VERSION),$(SKAFFOLD_VERSION))

# make test's skaffold tests run it.
TEST_TOOLS += skaffold
