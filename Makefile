# The course's commands. `make serve` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST := 127.0.0.1
PORT ?= 8000
# Same seed and no hash randomisation: notebooks print the same thing on every run.
export PYTHONHASHSEED := 0
export AWS_DEFAULT_REGION := us-east-1
export MPLBACKEND := Agg
export NO_MKDOCS_2_WARNING := 1
# Python keeps its compiled modules (some machines turn this off for every process): without the
# cache each test worker, kernel and grading run compiles the simulator again (about 10% of a run).
export PYTHONDONTWRITEBYTECODE :=

NOTEBOOKS := $(sort $(wildcard notebooks/*/*.ipynb) $(wildcard labs/*/lab.ipynb))

.PHONY: help install serve site test lab notebooks browser clean

help:
	@echo "make serve      set up, build the site and serve it on http://$(HOST):$(PORT)"
	@echo "make test       set up and run the whole test suite"
	@echo "make lab        open JupyterLab on $(HOST) to run lessons and labs"
	@echo "make notebooks  re-execute every notebook in place (committed outputs)"
	@echo "make site       build the static site into site/"

$(INSTALLED): requirements.txt reference/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed, found " + sys.version.split()[0]'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(INSTALLED)

install: $(INSTALLED)

site: install
	$(BIN)/mkdocs build --strict

serve: site
	$(BIN)/mkdocs serve --dev-addr $(HOST):$(PORT)

lab: install
	$(BIN)/jupyter lab --ip $(HOST) --notebook-dir .

notebooks: install
	@for nb in $(NOTEBOOKS); do \
		echo "executing $$nb"; \
		(cd $$(dirname $$nb) && ../../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=120 --ExecutePreprocessor.record_timing=False $$(basename $$nb)) || exit 1; \
	done

# The browser check needs a Chromium and its driver: install Debian's where we may (CI runs as root).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium and chromium-driver for the browser check"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "warning: no chromium/chromedriver and no way to install them: the browser check will fail"; fi

# The project's tests, then nbval over every notebook: each must run and print what is committed.
# (Two runs: the notebooks need no conftest, and labs/conftest.py is the graders' entry point.)
# Both runs use the two cores with pytest-xdist (a notebook's cells stay on one worker).
# The notebooks' kernels are forked from a warm server (tests/kernels, labgrader.kernels).
test: install browser
	$(BIN)/python -m pytest -c tests/pytest.ini --rootdir=. -n 2 --dist loadgroup tests
	JUPYTER_PATH=$(CURDIR)/tests $(BIN)/python -m pytest -c tests/pytest.ini --rootdir=. --noconftest \
		-p no:cacheprovider -n 2 --dist loadscope --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-kernel-name course-warm $(NOTEBOOKS)

clean:
	rm -rf site .pytest_cache build
