# What CI runs is exactly `make test` (see .ci/run). Every target installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps demo test lint unit bench clean

setup: $(STAMP)

# torch first and pinned: the CPU wheel of 2.13.0 is what these machines carry; an
# unpinned torch (asked for by any dependency) would pull GBs of CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[pipeline,train,query,review,dev]'
	# The ppocr_v4 architecture's starting weights: only the wheel's ONNX file is read, and its
	# dependencies (opencv-python among them) would clash with opencv-python-headless.
	$(BIN)/python -m pip install -q --no-deps rapidocr==3.4.5
	touch $(STAMP)

# Chromium renders `lpr-ray report` pages in tests/test_report.py (Debian package, as root).
system-deps:
	sh scripts/install-system-deps.sh

demo: setup
	$(BIN)/lpr-ray demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest -q -m "not slow and not gpu"

test: lint system-deps
	$(BIN)/python -m pytest -q -m "not gpu" --durations=25

bench: setup
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
