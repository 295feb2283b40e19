# Mend: one entry point for people and CI. `make up` starts the platform, `make test` tests it.
PY        ?= python3
VENV      := .venv
VPY       := $(VENV)/bin/python
LAUNCH    := $(VPY) deploy/local/launcher.py
STAMP     := $(VENV)/.installed

.PHONY: up down status test fault fuzz bench soak demo lint deps system-deps venv clean kafka-jars \
        node-deps deploy-tools

# Python environment: rebuilt only when a pin or a package manifest changes.
$(STAMP): constraints.txt requirements-dev.txt libs/*/pyproject.toml services/*/pyproject.toml \
          testkit/pyproject.toml
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	@mkdir -p .mend/logs
	@echo "installing the Python packages (log: .mend/logs/install.log) ..."
	@# pip's and setuptools' chatter (dozens of build warnings) goes to the log, not the screen;
	@# a failure prints the log's end.
	@( $(VPY) -m pip install -q --upgrade pip && \
	   $(VPY) -m pip install -q -r requirements-dev.txt ) > .mend/logs/install.log 2>&1 \
	   || { tail -40 .mend/logs/install.log; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

# PostgreSQL server, Java and Maven, where the machine lacks them (needs root and apt).
system-deps:
	@bash deploy/local/system-deps.sh

# The Kafka broker's jars, resolved from Maven Central into .mend/kafka/libs (cached in ~/.m2).
kafka-jars: venv
	@$(LAUNCH) kafka-jars

# The local OpenID Connect provider the sign-in tests run against (oidc-provider under Node).
OIDC_STAMP := deploy/local/oidc/node_modules/.installed
$(OIDC_STAMP): deploy/local/oidc/package-lock.json
	@npm ci --silent --no-audit --no-fund --prefix deploy/local/oidc
	@touch $(OIDC_STAMP)

# axe-core for the browser tests (tests/browser), put into the pages by the tests only.
AXE_STAMP := tests/browser/node_modules/.installed
$(AXE_STAMP): tests/browser/package-lock.json
	@npm ci --silent --no-audit --no-fund --prefix tests/browser
	@touch $(AXE_STAMP)

node-deps: $(OIDC_STAMP) $(AXE_STAMP)

# The deployment checkers tests/ops runs (tools/deploycheck, versions pinned by its go.sum):
# kustomize renders each agency's overlay, composecheck loads docker-compose.yml with
# compose-go, the loader `docker compose config` uses. Built once into .mend/bin, again only
# when the module changes; the Go module cache keeps the sources. The build's output goes to a
# log, not the screen.
GO         ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
DEPLOYCHECK := tools/deploycheck/go.mod tools/deploycheck/go.sum tools/deploycheck/main.go
.mend/bin/kustomize: tools/deploycheck/go.mod tools/deploycheck/go.sum
	@mkdir -p .mend/bin .mend/logs
	@cd tools/deploycheck && GOFLAGS=-mod=readonly $(GO) build -o ../../.mend/bin/kustomize \
	   sigs.k8s.io/kustomize/kustomize/v5 > ../../.mend/logs/deploy-tools.log 2>&1 \
	   || { tail -20 ../../.mend/logs/deploy-tools.log; exit 1; }
.mend/bin/composecheck: $(DEPLOYCHECK)
	@mkdir -p .mend/bin .mend/logs
	@cd tools/deploycheck && GOFLAGS=-mod=readonly $(GO) build -o ../../.mend/bin/composecheck . \
	   > ../../.mend/logs/deploy-tools.log 2>&1 \
	   || { tail -20 ../../.mend/logs/deploy-tools.log; exit 1; }

deploy-tools: .mend/bin/kustomize .mend/bin/composecheck

deps: system-deps venv kafka-jars node-deps deploy-tools

up: deps
	@$(LAUNCH) up

down:
	@test -x $(VPY) && $(LAUNCH) down || true

status:
	@$(LAUNCH) status

# Integration and end-to-end tests talk to the real broker and database the launcher starts.
# On TEST_WORKERS pytest-xdist workers (default 2; `make test TEST_WORKERS=0` runs them in one
# process): most tests wait on the broker or the database, so two workers on two cores finish
# sooner. Each test has its own schema and topics; tests sharing a module's own broker or
# cluster are one xdist_group (--dist loadgroup). The serial tests (they kill the broker the
# others use) run alone afterwards.
TEST_WORKERS ?= 2
test: deps
	@$(LAUNCH) infra
	@$(VPY) -m pytest -m "not fault and not fuzz and not serial" -q -n $(TEST_WORKERS) \
	   --dist loadgroup
	@$(VPY) -m pytest -m serial -q

# Long fault-injection runs (kill -9 of broker and relay under load).
fault: deps
	@$(LAUNCH) infra
	@$(VPY) -m pytest -m fault -q

# schemathesis against every service's OpenAPI (in process, test schemas): 0 responses of 5xx.
fuzz: deps
	@$(LAUNCH) infra
	@$(VPY) -m pytest -m fuzz -q tests/fuzz

bench: deps
	@$(LAUNCH) infra
	@$(VPY) -m bench

# The whole platform in process under a fixed rate for MEND_SOAK_SECONDS (default 3600), then a
# ramp until something gives (bench/soak.py); the report goes to bench/results/soak-*.md.
soak: deps
	@$(LAUNCH) infra
	@$(VPY) -m bench.soak

demo: up
	@$(VPY) tools/demo.py

lint: venv
	@$(VENV)/bin/ruff check .

clean: down
	rm -rf .mend
