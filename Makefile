# TDS developer entry points. `make help` lists them; `make run` and `make test` are the two
# that a newcomer needs (see README.md).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
# The project's own uv, installed from PyPI under .local/ by `make install`: never whatever uv the
# machine happens to have, so a fresh machine and a developer's run the same tools.
UV := $(CURDIR)/.local/uv/bin/uv
# What make and the tests run comes first from the project's own install (uv, helm, kustomize).
export PATH := $(CURDIR)/.local/uv/bin:$(CURDIR)/.local/bin:$(PATH)
export UV_PYTHON_DOWNLOADS := never
# Packages go into .venv in uv's default link mode: hard links into uv's cache on Linux (a fresh
# clone's 143 packages in 1.5-4 s here, against 15-54 s copied on the same busy machine). Where
# the cache is on another filesystem uv copies instead and warns (UV_LINK_MODE=copy silences
# it). Installed files are then shared with uv's cache: never edit them in place. The Dockerfile
# copies (its cache is a build mount).
RUN := $(UV) run --frozen --all-packages
PYTEST_ARGS ?=
# Component makefiles (mk/*.mk) add to `make test` through these lists: the tools pytest runs
# (TEST_TOOLS: built or installed when missing, one at a time) and checks (TEST_CHECKS).
TEST_TOOLS :=
TEST_CHECKS :=

-include mk/*.mk

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(CURDIR)/.local/uv/bin/uv:
	python3 -m pip install --quiet --disable-pip-version-check --target $(CURDIR)/.local/uv "uv==$(UV_VERSION)"

.PHONY: install
install: $(UV) ## Install Python packages, Kafka jars and PostgreSQL binaries (idempotent, cached)
	$(UV) sync --frozen --all-packages
	$(RUN) python -m devstack install

.PHONY: up
up: install ## Start the local stack in the background (PostgreSQL, Kafka, simulator, services)
	$(RUN) python -m devstack up

.PHONY: down
down: ## Stop what `make up` started
	@if [ -x "$(UV)" ]; then $(RUN) python -m devstack down; fi

.PHONY: reset
reset: ## Stop the local stack and delete its data (database, topics, metrics, traces, logs)
	@if [ -x "$(UV)" ]; then $(RUN) python -m devstack reset; fi

.PHONY: status
status: ## Show the local stack's processes and ports
	$(RUN) python -m devstack status

.PHONY: run
run: up ## Start everything and do the main job on the seeded dataset, with progress
	$(RUN) python -m devstack run

.PHONY: format
format: ## Format the code with ruff
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

.PHONY: lint
lint: ## ruff lint and format check, import layering, no reference to a missing document, entity lists match the catalogue
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports
	$(RUN) python -m devstack.doc_references
	$(RUN) python -m devstack.entity_lists --check

.PHONY: entity-lists
entity-lists: ## Write the entity lists of the CRD (both copies), the values schema and docs/monitoring.sql from the catalogue
	$(RUN) python -m devstack.entity_lists

# mypy's cache is kept outside the clone too, as the Go tools are, so a fresh clone checks only
# what differs from the last run on the machine (6 s instead of 43 s from empty here): mypy
# reuses a cached module from another path only when its content hash matches, and re-checks
# what depends on a changed interface, so a type error still fails. A clone with no cache of its
# own starts from a copy (mypy's cache files are not safe for two runs writing at once), and a
# passing run publishes its cache back as one tar file renamed into place (last one wins).
MYPY_PATHS ?= services/*/src tools/*/src tests bench
MYPY_CACHE ?= $(CURDIR)/.mypy_cache
MYPY_SHARED_CACHE ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/tds/mypy/cache.tar
MYPY_ARGS ?=

.PHONY: typecheck
typecheck: ## mypy --strict (its cache shared by the clones of this machine)
	@shared="$(MYPY_SHARED_CACHE)"; \
	if [ ! -d "$(MYPY_CACHE)" ] && [ -f "$$shared" ]; then \
	  rm -rf "$(MYPY_CACHE).partial" && mkdir -p "$(MYPY_CACHE).partial" && \
	  tar -xf "$$shared" -C "$(MYPY_CACHE).partial" && mv "$(MYPY_CACHE).partial" "$(MYPY_CACHE)"; \
	fi
	$(RUN) mypy --cache-dir "$(MYPY_CACHE)" $(MYPY_ARGS) $(MYPY_PATHS)
	@shared="$(MYPY_SHARED_CACHE)"; mkdir -p "$$(dirname "$$shared")" && \
	  tar -cf "$$shared.$$$$.partial" -C "$(MYPY_CACHE)" . && mv -f "$$shared.$$$$.partial" "$$shared"

# Before pytest, `make test` builds the tools one at a time (the Go builds of a first run keep both
# cores busy on their own: two side by side took no less time here), then runs lint, typecheck
# and the TEST_CHECKS TEST_JOBS at a time (mypy and lint-k8s are single-threaded: 33 s one after
# the other, 18 s side by side). --output-sync prints each check's output whole when it ends, so
# a failure reads as it would alone.
TEST_JOBS ?= 2

.PHONY: test-tools
test-tools: $(TEST_TOOLS)

.PHONY: test-checks
test-checks: lint typecheck $(TEST_CHECKS)

.PHONY: test
test: install ## Install everything, then lint, typecheck and run the whole suite
	$(MAKE) --no-print-directory test-tools
	$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target test-checks
	$(RUN) pytest $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: ## Unit tests only (no Kafka or PostgreSQL)
	$(RUN) pytest tests/unit $(PYTEST_ARGS)

.PHONY: test-integration
test-integration: ## Integration tests against the real local Kafka and PostgreSQL
	$(RUN) pytest tests/integration $(PYTEST_ARGS)

.PHONY: test-pg15
test-pg15: install ## Integration tests against PostgreSQL 15 from Debian's packages (oldest supported)
	@if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; fi
	$(RUN) python -m devstack pg start --bin-dir /usr/lib/postgresql/15/bin --port 55433 --name postgres15
	TDS_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55433/postgres $(RUN) pytest tests/integration $(PYTEST_ARGS); \
	  status=$$?; $(RUN) python -m devstack pg stop --port 55433 --name postgres15; exit $$status

.PHONY: bench
# vegeta drives the e2e bench's webhooks: a compiled generator takes less of the two cores from
# the services it measures than the Python one (bench/README.md).
bench: install vegeta ## Benchmarks (ratios against a baseline measured in the same run)
	$(RUN) python -m bench

# Known vulnerabilities in every locked dependency: uv.lock exported as pinned, hashed
# requirements (our own workspace packages left out: they are not on PyPI) and checked by
# pip-audit as they are (--disable-pip --require-hashes: nothing is resolved or installed), by
# default against PyPI's advisory data (one JSON request per release). --strict
# makes a package that could not be checked fail the run, so an unreachable vulnerability
# service fails the audit loudly instead of passing silently. Not part of `make test`: neither
# vulnerability service (OSV, PyPI's per-release JSON) answers from our build machines, so CI
# could never pass it; run it where one answers (README.md "Dependency audit"). AUDIT_ARGS adds
# pip-audit options (e.g. `-s osv`, or `--osv-url` as the tests do).
# Ignored vulnerabilities (`--ignore-vuln ID` in AUDIT_IGNORE, each with its reason here and in
# README.md "Dependency audit"): none.
AUDIT_IGNORE :=
AUDIT_ARGS ?=
AUDIT_REQUIREMENTS := $(CURDIR)/.local/audit/requirements.txt

.PHONY: audit
audit: $(UV) ## Known vulnerabilities in uv.lock (pip-audit; needs OSV or PyPI's per-release JSON)
	@mkdir -p $(dir $(AUDIT_REQUIREMENTS))
	$(UV) export --frozen --all-packages --format requirements-txt --no-emit-workspace --quiet -o $(AUDIT_REQUIREMENTS)
	@$(RUN) pip-audit --strict --require-hashes --disable-pip --progress-spinner off \
	  -r $(AUDIT_REQUIREMENTS) $(AUDIT_IGNORE) $(AUDIT_ARGS) || { \
	  echo "audit FAILED: a locked dependency has a known vulnerability, or could not be checked" \
	    "(vulnerability service unreachable: see the errors above). Not skipped: fix or upgrade," \
	    "or document an exception in the Makefile and README.md." >&2; exit 1; }
