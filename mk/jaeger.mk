# Jaeger v2 for the local stack (`make up` starts it when built) and for the end-to-end test that
# follows one webhook through every service (tests/e2e/test_tracing.py). The `jaeger` program is
# built from the Go module proxy once per version and machine (tens of minutes the first time;
# afterwards a copy into .local/bin). `go install module@version` refuses Jaeger: its go.mod has a replace
# directive. So the pinned module is downloaded (Go's module cache) and built in its own folder,
# with its version stamped into the binary (`jaeger version` prints it: the cache check).
# JAEGER_MODULE_VERSION v1.76.0 is Jaeger's v2.13.0 release (the module keeps v1 tags).
JAEGER_MODULE := github.com/jaegertracing/jaeger
JAEGER_MODULE_VERSION := v1.76.0
JAEGER := $(CURDIR)/.local/bin/jaeger
JAEGER_STAMP := $(JAEGER_MODULE)/internal/version.latestVersion=$(JAEGER_MODULE_VERSION)

# The build is the slow part (tens of minutes on two busy cores), so the binary is kept per version
# outside the clone, like the control plane's (`${XDG_CACHE_HOME:-~/.cache}/tds/jaeger`): a new
# clone copies it instead of building again.
JAEGER_CACHE = $${XDG_CACHE_HOME:-$$HOME/.cache}/tds/jaeger/$(JAEGER_MODULE_VERSION)/jaeger

.PHONY: jaeger
jaeger: ## Build Jaeger v2 (pinned) from the Go module proxy, cached outside the clone, into .local/bin
	@if ! { [ -x "$(JAEGER)" ] && "$(JAEGER)" version 2>/dev/null \
	    | grep -qF '"gitVersion":"$(JAEGER_MODULE_VERSION)"'; }; then \
	  cached="$(JAEGER_CACHE)"; \
	  if [ ! -x "$$cached" ]; then \
	    echo "building jaeger $(JAEGER_MODULE_VERSION) from the Go module proxy (cached afterwards)"; \
	    mkdir -p "$$(dirname "$$cached")"; \
	    src=$$(GOTOOLCHAIN=local $(GO) mod download -json $(JAEGER_MODULE)@$(JAEGER_MODULE_VERSION) \
	      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	    [ -d "$$src" ] || { echo "go mod download gave no folder for $(JAEGER_MODULE)" >&2; exit 1; }; \
	    (cd "$$src" && GOTOOLCHAIN=local nice -n 10 $(GO) build -trimpath \
	      -ldflags "-X $(JAEGER_STAMP)" -o "$$cached.partial" ./cmd/jaeger) || exit 1; \
	    mv "$$cached.partial" "$$cached"; \
	  fi; \
	  mkdir -p "$(dir $(JAEGER))"; cp "$$cached" "$(JAEGER).partial" && mv "$(JAEGER).partial" "$(JAEGER)"; \
	fi

# make test's e2e tracing test needs it.
TEST_CHECKS += jaeger
