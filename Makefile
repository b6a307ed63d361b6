# Two commands matter: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: setup run test migrate clean system-packages bench

setup: $(STAMP) system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# pysaml2 shells out to xmlsec1 to check XML signatures; the browser test drives Chromium.
# Installed with apt-get when missing and we are root; otherwise we say how.
system-packages:
	@missing=""; \
	command -v xmlsec1 >/dev/null 2>&1 || missing="$$missing xmlsec1"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing. Install with: sudo apt-get install$$missing (macOS: brew install libxmlsec1)"; \
	    echo "(without chromium the browser test is skipped; without xmlsec1 SAML signatures cannot be checked)"; \
	  fi; \
	fi

migrate: setup
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# The issuer follows the port unless OAUTH_ISSUER says otherwise: metadata, `iss` and audiences name it.
run: export OAUTH_ISSUER ?= http://127.0.0.1:$(PORT)
run: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo
	DEBUG=$${DEBUG:-1} $(BIN)/gunicorn -c config/gunicorn.conf.py config.wsgi --bind 127.0.0.1:$(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 .demo-clients.json

# The benchmark of issue 7 (bench/README.md): gunicorn + PostgreSQL + wrk on 127.0.0.1, one table.
# BENCH_ARGS=--quick skips the 1,000,000-token part; --cases 1,2,4 runs a subset; --profile 2,4,6,10 adds py-spy.
bench: $(STAMP)
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v xmlsec1 >/dev/null 2>&1 || missing="$$missing xmlsec1"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing:$$missing. Install with: sudo apt-get install$$missing"; exit 1; fi; \
	fi
	$(BIN)/python bench/run.py $(BENCH_ARGS)
