# The two commands: `make run` and `make test`. Everything else is set up on demand.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint system-deps bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,postgres]'
	touch $(STAMP)

config.yaml:
	$(VENV)/bin/actionflow init

run: $(STAMP) config.yaml
	$(VENV)/bin/actionflow demo
	$(VENV)/bin/actionflow serve --host $(HOST) --port $(PORT)

# Debian's Chromium drives the browser tests (with CJK and emoji fonts, so screenshots show text, not boxes);
# ffmpeg converts voice (AMR/Opus → WAV); the voice tests speak with espeak-ng and encode AMR with opencore-amrnb;
# the PostgreSQL tests start a throw-away server from Debian's postgresql binaries (tests/pg_server.py; the
# package's own cluster is not used: a private data dir and port, run as the postgres user when we are root).
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v ffmpeg >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q . \
			|| ! fc-list 2>/dev/null | grep -qi 'color emoji' || ! command -v espeak-ng >/dev/null \
			|| ! ldconfig -p | grep -q libopencore-amrnb || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium ffmpeg \
			fonts-noto-cjk fonts-noto-color-emoji espeak-ng libopencore-amrnb0 postgresql; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# pytest exits 5 when it collects no tests; make treats that as a failure like any other.
# Two workers (pytest-xdist): much of the suite waits on subprocesses, Chromium and PostgreSQL, so two
# keep both cores of a CI machine busy; each worker starts its own throw-away PostgreSQL.
test: $(STAMP) system-deps lint
	$(PY) -m pytest -q -p no:cacheprovider -n 2

bench: $(STAMP)
	$(PY) -m bench.ingest
	$(PY) -m bench.tag
	$(PY) -m bench.morning
	$(PY) -m bench.digest
	$(PY) -m bench.load
	$(PY) -m bench.fanout
	$(PY) -m bench.dedupe

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
