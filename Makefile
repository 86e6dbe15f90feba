# Madoguchi: the two commands are `make demo` and `make test`; both set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-headless test lint bench sysdeps clean server package

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[gui,dev]'
	@touch $(STAMP)

sysdeps:
	@bash scripts/sysdeps.sh

demo: sysdeps $(STAMP)
	$(BIN)/madoguchi demo

demo-headless: $(STAMP)
	$(BIN)/madoguchi demo --headless

server: $(STAMP)
	$(BIN)/madoguchi server

test: sysdeps $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

# the packaged kiosk and console (PyInstaller, one folder each): dist/madoguchi-kiosk/, dist/madoguchi-console/
package: sysdeps $(STAMP)
	$(BIN)/python scripts/package.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy signaling server kiosk staff_console

bench: $(STAMP)
	$(BIN)/python -m bench.call_setup
	$(BIN)/python -m bench.signaling_load --quick

clean:
	rm -rf $(VENV) var build dist .pytest_cache .mypy_cache .ruff_cache
