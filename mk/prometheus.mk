# Prometheus for the local stack (`make up` starts it when installed) and for the end-to-end test
# that runs every dashboard panel's query and every alert expression against it
# (tests/e2e/test_prometheus.py); the dashboards themselves are generated from code.
# The server and promtool come from Debian's prometheus package, installed with apt-get only
# when missing (root; README.md "The two commands").

.PHONY: prometheus
prometheus: ## Install the Prometheus server and promtool (Debian's prometheus package) when missing
	@{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || { \
	  echo "installing Prometheus (Debian package prometheus)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# make test's e2e tests need the server.
TEST_TOOLS += prometheus

# `make up` tries to install it too, but runs without it (devstack says so) when it cannot.
.PHONY: prometheus-optional
prometheus-optional:
	@$(MAKE) --no-print-directory prometheus || \
	  echo "Prometheus could not be installed; the stack runs without it (make prometheus)" >&2

up: prometheus-optional

.PHONY: dashboards
dashboards: ## Regenerate the chart's Grafana dashboards (charts/tds/files/dashboards) from code
	$(RUN) python -m devstack.dashboards
