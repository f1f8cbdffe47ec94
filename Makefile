# kunsink: two commands from a fresh clone (Debian + Python 3.11).
#   make demo   virtual environment, install, build the demo maps into maps/
#   make test   the same plus test dependencies and Debian's chromium, then the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: demo test venv install install-test chromium scene check-scene bytecode bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

# --compile-bytecode: every library compiled once at install, as pip does on first import — a kunsink
# command then starts in ~1 s instead of recompiling pandas, dask … each time (PYTHONDONTWRITEBYTECODE)
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(UV) pip install --quiet --compile-bytecode -p $(BIN)/python -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(UV) pip install --quiet --compile-bytecode -p $(BIN)/python -e '.[test]'
	touch $@

venv install: $(VENV)/.installed

install-test: $(VENV)/.installed-test chromium

# Debian's chromium (and a CJK font for readable screenshots) for the browser test;
# needs root or sudo; never downloads a browser build.
APT_PKGS := chromium fonts-wqy-microhei
chromium:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wqy; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	else echo "chromium missing and no root: the browser test will be skipped"; fi

demo: $(VENV)/.installed
	$(BIN)/kunsink demo --maps-dir maps

test: install-test
	KUNSINK_REQUIRE_BROWSER=$${KUNSINK_REQUIRE_BROWSER:-$$(command -v chromium >/dev/null 2>&1 && echo 1 || echo 0)} \
	  $(BIN)/python -m pytest -q

# Regenerate the synthetic demo scene (byte for byte) and verify the committed one.
scene: $(VENV)/.installed
	$(BIN)/kunsink scene build

check-scene: $(VENV)/.installed
	$(BIN)/kunsink scene check

# Every benchmark, figures appended to benchmarks/runs.log (asserted claims; run on an idle machine).
# kunsink's own modules compiled too (an editable install is not), so no benchmark times a compiler
bytecode: $(VENV)/.installed-test
	$(BIN)/python -m compileall -q -j 2 kunsink

bench: bytecode
	$(BIN)/python benchmarks/run_all.py

# Small sizes in under a minute: ratios printed, no timing asserted, runs.log untouched.
.PHONY: bench-quick
bench-quick: bytecode
	$(BIN)/python benchmarks/run_all.py --quick

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
