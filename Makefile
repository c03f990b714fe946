# One entry point for people and CI. Recipes stay thin: the logic lives in Cargo.
.DEFAULT_GOAL := help
CARGO ?= cargo
.PHONY: help fmt fmt-check lint check-layers deny-install deny audit test test-deps doc ci run fuzz bench bench-smoke

# Crates that must stay framework- and storage-free, and what they may never depend on.
PURE_CRATES := payram_domain payram_ports payram_core
PURE_FORBIDDEN := diesel|diesel_migrations|actix-web|actix-http|actix-rt|actix-server|tokio|r2d2|libsqlite3-sys|serde|serde_json
WIRE_CRATES := payram_protocol
WIRE_FORBIDDEN := diesel|diesel_migrations|actix-web|actix-http|actix-rt|actix-server|tokio|r2d2|libsqlite3-sys
# Adapters implement ports; they never reach the use cases or each other (only the app wires).
ADAPTER_CRATES := payram_store payram_http payram_forward payram_api
ADAPTER_FORBIDDEN := payram_core|payram_merchant|payram_store|payram_http|payram_forward|payram_api
# The PayRam emulator is for other services' tests too: the domain, the protocol and HTTP only.
SIMULATOR_FORBIDDEN := payram_ports|payram_core|payram_store|payram_http|payram_merchant|diesel|actix-web

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "%-13s %s\n", $$1, $$2}'

fmt: ## Format all crates
	$(CARGO) fmt --all

fmt-check: ## Fail if formatting differs
	$(CARGO) fmt --all --check

lint: ## Clippy on every target and feature, warnings are errors
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings

check-layers: ## Inner crates must not depend on frameworks, storage or the runtime
	@for c in $(PURE_CRATES); do \
	  bad=$$($(CARGO) tree --locked -p $$c -e normal --prefix none --format '{p}' | grep -E '^($(PURE_FORBIDDEN)) ' | sort -u); \
	  if [ -n "$$bad" ]; then echo "$$c depends on a forbidden crate: $$bad"; exit 1; fi; done
	@for c in $(WIRE_CRATES); do \
	  bad=$$($(CARGO) tree --locked -p $$c -e normal --prefix none --format '{p}' | grep -E '^($(WIRE_FORBIDDEN)) ' | sort -u); \
	  if [ -n "$$bad" ]; then echo "$$c depends on a forbidden crate: $$bad"; exit 1; fi; done
	@for c in $(ADAPTER_CRATES); do \
	  bad=$$($(CARGO) tree --locked -p $$c -e normal --prefix none --format '{p}' | grep -v "^$$c " | grep -E '^($(ADAPTER_FORBIDDEN)) ' | sort -u); \
	  if [ -n "$$bad" ]; then echo "$$c depends on a forbidden crate: $$bad"; exit 1; fi; done
	@bad=$$($(CARGO) tree --locked -p payram_simulator -e normal --prefix none --format '{p}' | grep -E '^($(SIMULATOR_FORBIDDEN)) ' | sort -u); \
	  if [ -n "$$bad" ]; then echo "payram_simulator depends on a forbidden crate: $$bad"; exit 1; fi
	@echo "check-layers: domain, ports, core and protocol depend on no framework, storage or runtime; adapters on no use case or other adapter; the simulator on no port or adapter"

# cargo-deny, pinned so that every machine checks with the same rules. Two graphs: the workspace
# (deny.toml) and the fuzz workspace with its own lock file (fuzz/deny.toml); docs/DEVELOPMENT.md.
CARGO_DENY_VERSION := 0.20.2
DENY_DIRS := . fuzz
deny-install:
	@[ "$$($(CARGO) deny --version 2>/dev/null)" = "cargo-deny $(CARGO_DENY_VERSION)" ] || \
	  $(CARGO) install cargo-deny --locked --version $(CARGO_DENY_VERSION)

deny: deny-install ## Licences, bans and sources; duplicate versions are warnings (installs cargo-deny --locked if missing)
	@for d in $(DENY_DIRS); do echo "== cargo deny: $$d/Cargo.toml"; \
	  $(CARGO) deny --locked --manifest-path $$d/Cargo.toml --config $$d/deny.toml \
	    check --hide-inclusion-graph licenses bans sources || exit 1; done
	@echo "deny: advisories skipped (the RustSec database is cloned from GitHub, out of reach for CI); run make audit where it is reachable"

audit: deny-install ## Security advisories and yanked crates (fetches the RustSec advisory database)
	@for d in $(DENY_DIRS); do echo "== cargo deny: $$d/Cargo.toml"; \
	  $(CARGO) deny --locked --manifest-path $$d/Cargo.toml --config $$d/deny.toml check advisories || { \
	  echo "audit: failed: an advisory above, or the RustSec database could not be cloned (it needs GitHub)"; exit 1; }; done

# The end-to-end tests verify forwarded credits with the official Standard Webhooks library
# (Python, from PyPI) and drive the dashboard in Debian's headless Chromium through Selenium's
# WebDriver client; both Python packages go into a virtual environment under target/.
E2E_VENV := $(CURDIR)/target/e2e-venv
E2E_PYTHON_PACKAGES := standardwebhooks==1.1.0 selenium==4.27.1 jsonschema==4.23.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-deps: ## Install what the tests need beyond Cargo (Chromium, chromedriver, Python packages)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }
	@$(E2E_VENV)/bin/python -c 'import standardwebhooks, selenium, jsonschema' 2>/dev/null || { \
	  python3 -m venv $(E2E_VENV) && $(E2E_VENV)/bin/pip install --quiet $(E2E_PYTHON_PACKAGES); }

test: test-deps ## Every test: unit, adapter, end-to-end and system tests (the README's test command)
	PAYRAM_E2E_PYTHON=$(E2E_VENV)/bin/python $(CARGO) test --workspace --all-features --locked
	$(CARGO) run --quiet --locked -p payram_example_consumer -- --vectors tests/fixtures/vectors

doc: ## Docs build; broken intra-doc links are errors
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --locked

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := parse_body authenticate
fuzz: ## Fuzz each target for FUZZ_SECONDS (installs cargo-fuzz if missing; docs/FUZZING.md)
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; seeds=; dict=; \
	  [ -d fuzz/seeds/$$t ] && seeds=fuzz/seeds/$$t; \
	  [ -f fuzz/$$t.dict ] && dict=-dict=fuzz/$$t.dict; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t fuzz/corpus/$$t $$seeds -- \
	    -max_total_time=$(FUZZ_SECONDS) $$dict || exit 1; \
	done

# Figures are printed next to issue 9's targets, never asserted (docs/PERFORMANCE.md).
bench: ## Webhook vs a bare actix-web ceiling (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_SOAK_SECONDS), then the pipeline micro-benchmark
	$(CARGO) bench --locked -p payram_e2e --bench webhook
	$(CARGO) bench --locked -p payram_e2e --bench pipeline

BENCH_SMOKE_SECONDS ?= 1
bench-smoke: ## make bench, briefly (CI): both benches build and run; about a second a row
	BENCH_SECONDS=$(BENCH_SMOKE_SECONDS) $(CARGO) bench --locked -p payram_e2e --bench webhook
	$(CARGO) bench --locked -p payram_e2e --bench pipeline -- --quick

ci: fmt-check deny lint check-layers test doc ## Exactly what CI runs

run: ## Serve on ./payram-merchant.db (set PAYRAM_API_KEYS first)
	$(CARGO) run --release --locked --bin payram-merchant -- serve
