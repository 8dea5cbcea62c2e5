# skaffold for `make dev` and for the tests that run `skaffold diagnose` and `skaffold render`
# against skaffold.yaml (tests/unit/k8s/test_skaffold.py; no cluster, no image build). Built from
# the Go module proxy once per version and machine (tens of minutes the first time; afterwards a
# copy into .local/bin). `go install module@version` refuses skaffold: its go.mod has replace
# directives. So, as for Jaeger (mk/jaeger.mk), the pinned module is downloaded (Go's module
# cache) and built in its own folder, with its version stamped in as skaffold's release Makefile
# does (`skaffold version` prints it: the cache check).
SKAFFOLD_MODULE := github.com/GoogleContainerTools/skaffold/v2
SKAFFOLD_VERSION := v2.16.1
SKAFFOLD := $(CURDIR)/.local/bin/skaffold
SKAFFOLD_STAMP := $(SKAFFOLD_MODULE)/pkg/skaffold/version.version=$(SKAFFOLD_VERSION)

# Kept per version outside the clone (`${XDG_CACHE_HOME:-~/.cache}/tds/skaffold`): a new clone
# copies it instead of building again.
SKAFFOLD_CACHE = $${XDG_CACHE_HOME:-$$HOME/.cache}/tds/skaffold/$(SKAFFOLD_VERSION)/skaffold

.PHONY: skaffold
skaffold: ## Build skaffold (pinned) from the Go module proxy, cached outside the clone, into .local/bin
	@if ! { [ -x "$(SKAFFOLD)" ] && [ "$$("$(SKAFFOLD)" version 2>/dev/null)" = "$(SKAFFOLD_VERSION)" ]; }; then \
	  cached="$(SKAFFOLD_CACHE)"; \
	  if [ ! -x "$$cached" ]; then \
	    echo "building skaffold $(SKAFFOLD_VERSION) from the Go module proxy (cached afterwards)"; \
	    mkdir -p "$$(dirname "$$cached")"; \
	    src=$$(GOTOOLCHAIN=local $(GO) mod download -json $(SKAFFOLD_MODULE)@$(SKAFFOLD_VERSION) \
	      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	    [ -d "$$src" ] || { echo "go mod download gave no folder for $(SKAFFOLD_MODULE)" >&2; exit 1; }; \
	    (cd "$$src" && GOTOOLCHAIN=local nice -n 10 $(GO) build -trimpath \
	      -ldflags "-X $(SKAFFOLD_STAMP)" -o "$$cached.partial" ./cmd/skaffold) || exit 1; \
	    mv "$$cached.partial" "$$cached"; \
	  fi; \
	  mkdir -p "$(dir $(SKAFFOLD))"; cp "$$cached" "$(SKAFFOLD).partial" && mv "$(SKAFFOLD).partial" "$(SKAFFOLD)"; \
	fi

# make test's skaffold tests run it.
TEST_CHECKS += skaffold
