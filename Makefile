# The two commands of the README:
#   make quickstart   create .venv if missing, install, run the main job on built-in data
#   make test         create .venv if missing, install with the test, tf and beam extras, run all tests
# Also: make bench (benchmarks/, with the libraries they compare against).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
WORKDIR ?= workdirs/quickstart
PYTEST_ARGS ?=

.PHONY: quickstart test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps: reinstall only when the package metadata changes.
$(VENV)/.stamp-base: setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-test: setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,tf,beam]'
	touch $@ $(VENV)/.stamp-base

$(VENV)/.stamp-bench: setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@ $(VENV)/.stamp-base

quickstart: $(VENV)/.stamp-base
	$(PY) -m cvaegan_jax.main --config=configs/quickstart.py --workdir=$(WORKDIR) --mode=quickstart

# One worker per core (pytest-xdist), a test file's tests on one worker (their module fixtures
# are built once); tests/conftest.py shares compiled programs between the workers on disk.
test: $(VENV)/.stamp-test
	$(PY) -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

bench: $(VENV)/.stamp-bench
	$(PY) benchmarks/spectra.py
	$(PY) benchmarks/data_prep.py
	$(PY) benchmarks/train.py --configs=paper,base --peer=keras --steps=5
	$(PY) benchmarks/refine.py
	$(PY) benchmarks/generate.py

clean:
	rm -rf workdirs .pytest_cache
