# symres: `make demo` installs and derives the pre-activation block; `make test` installs
# what the tests need (including pdflatex, through apt-get when it is missing) and runs them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint dev tex derivations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

demo: $(BIN)/python
	$(PIP) install -q --disable-pip-version-check -e .
	$(BIN)/symres derive preact --latex

dev: $(BIN)/python
	$(PIP) install -q --disable-pip-version-check -e '.[dev]'

# pdflatex for the PDF tests (Debian's texlive-latex-base and texlive-latex-recommended) and
# pdftotext (poppler-utils), with which the tests read the typeset text back
tex:
	@command -v pdflatex >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 || { \
	  echo "installing pdflatex and pdftotext: texlive-latex-base texlive-latex-recommended poppler-utils"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends texlive-latex-base texlive-latex-recommended poppler-utils >/dev/null; }

# unit tests and the derivation library (pytest collects derivations/ through the symres
# plugin), then the booklet, which must fit its pages (no overfull box over 1 pt) and show no
# leaked markup, and derivations/README.md must equal what verify prints now
test: dev tex
	$(BIN)/python -m pytest -n 2
	$(MAKE) --no-print-directory derivations
	$(BIN)/python tests/typeset.py derivations/build/symres-derivations.tex
	diff -u derivations/README.md derivations/build/README.md

derivations: dev tex
	mkdir -p derivations/build
	$(BIN)/symres verify derivations --booklet derivations/build --table > derivations/build/README.md
	@echo "wrote derivations/build/symres-derivations.tex and .pdf"

lint: dev
	$(BIN)/ruff check symres tests benchmarks derivations
	$(BIN)/ruff format --check symres tests benchmarks derivations
	$(BIN)/mypy symres

clean:
	rm -rf $(VENV) build derivations/build *.egg-info .pytest_cache .mypy_cache .ruff_cache
