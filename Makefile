# `make run` runs the study, `make test` the tests; both create .venv from the
# pinned requirements.txt on first use. dvc.yaml's commands call `python`, so the
# venv's bin/ goes first on PATH.
VENV := .venv
PYTHON_SYSTEM ?= python3.11
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run run-notebook status test test-fast lint lock venv dvc-sync clean-resume plan

JOBS ?= 1

# The main pipeline (dvc.yaml, `dvc repro`'s default target; the notebook's protocol is
# notebook/dvc.yaml, `make run-notebook`). JOBS=N trains N runs at a time as queued DVC
# experiments, each with cores/N TensorFlow threads (numerics.threads), then restores them
# from the run-cache in one `dvc repro` (stages/tools/workers.py).
run: $(VENV)/.installed
ifeq ($(JOBS),1)
	dvc repro
else
	python -m stages.tools.workers --jobs $(JOBS)
endif

.PHONY: quick
# The quick look: every architecture of params.yaml on 2,000 training images, 1 epoch, one
# seed, all 10,000 test images, as a temporary DVC experiment (workspace untouched); prints
# the summary and where the plots are (stages/tools/quick.py).
quick: $(VENV)/.installed  ## the quick look, a temporary DVC experiment: summary and plots
	python -m stages.tools.quick

run-notebook: $(VENV)/.installed  ## the notebook's protocol, 12 architectures, one seed
	dvc repro notebook/dvc.yaml

status: $(VENV)/.installed  ## where the study is: done, training (epoch k of n), waiting; time left
	python -m stages.tools.progress
	@echo; echo "notebook/dvc.yaml (the notebook's protocol):"
	python -m stages.tools.progress --root notebook

test: $(VENV)/.installed  ## the full suite, as CI runs it (10-15 minutes)
	python -m pytest -q

test-fast: $(VENV)/.installed  ## every test not marked slow or tensorflow: no TensorFlow, no dvc CLI (about 50 s)
	python -m pytest -q -m "not slow and not tensorflow"

lint: $(VENV)/.installed  ## ruff, configured in pyproject.toml
	ruff check .
	ruff format --check .

# requirements.txt is compiled from requirements.in (the direct dependencies) for Python 3.11
# on Linux; versions already pinned there are kept unless LOCK_FLAGS says otherwise, e.g.
# LOCK_FLAGS="--upgrade-package keras". setuptools is left to the venv, as pip-compile does.
lock: $(VENV)/.installed  ## after editing requirements.in
	uv pip compile requirements.in --output-file requirements.txt --quiet \
	  --python-version 3.11 --python-platform linux --no-emit-package setuptools \
	  --custom-compile-command "make lock" $(LOCK_FLAGS)

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON_SYSTEM) >/dev/null || { echo "needs $(PYTHON_SYSTEM) (set PYTHON_SYSTEM=...)"; exit 1; }
	@if [ -x $(VENV)/bin/python ] && ! $(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; \
	then echo "$(VENV) was made with another Python than 3.11: rm -rf $(VENV) and rerun"; exit 1; fi
	test -x $(VENV)/bin/python || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	touch $@

# The seeds that would decide the report's undecided comparisons, and their training hours;
# WRITE=1 puts them in params.yaml's `seeds` section (python -m stages.tools.plan --write).
plan: $(VENV)/.installed
	python -m stages.tools.plan $(if $(WRITE),--write)

dvc-sync: $(VENV)/.installed  ## after adding or removing an architecture in params.yaml
	python -m stages.tools.dvc_sync

clean-resume:  ## forget interrupted runs' resume state
	rm -rf .resume
