# Two commands do all the set-up on a fresh Debian machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench eval docs system-deps clean

system-deps:
	@need=""; \
	command -v redis-server >/dev/null || need="$$need redis-server"; \
	command -v prometheus >/dev/null && command -v promtool >/dev/null || need="$$need prometheus"; \
	command -v victoria-metrics >/dev/null || need="$$need victoria-metrics"; \
	command -v faketime >/dev/null || need="$$need faketime"; \
	command -v chromium >/dev/null || need="$$need chromium"; \
	command -v chromedriver >/dev/null || need="$$need chromium-driver"; \
	if [ -n "$$need" ]; then \
	  echo "installing Debian packages:$$need"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# With no Slack credentials: plays a whole incident against the bundled local workspace.
# With SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN): serves the real workspace.
# SCENARIO=otel (a file of sandbox/demo/scenarios/, or a path to one) picks the demo's scenario.
SCENARIO ?= seed
# ARGS=--no-worker when `incident-bot worker` runs elsewhere (with credentials, run includes it)
ARGS ?=
run: system-deps $(STAMP)
	$(BIN)/incident-bot run --scenario $(SCENARIO) $(ARGS)

test: system-deps $(STAMP)
	$(BIN)/ruff check bot commands sandbox tests bench
	$(BIN)/mypy bot commands
	$(BIN)/pytest -q

bench: system-deps $(STAMP)
	$(BIN)/python -m bench

# AI postmortems on recorded incidents against the Anthropic stand-in (faithful, inventing)
eval: system-deps $(STAMP)
	$(BIN)/python -m bench.eval_postmortem

# the pages of docs/ generated from the code (settings, commands); tests fail while stale
docs: $(STAMP)
	$(BIN)/incident-bot docs

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
