# Two entry points: `make run` (the demo) and `make test` (lint, types, the whole suite).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint clean bench-quick grids melody-weights molecule-weights

# gan-face-generate and molsets go in with --no-deps: their declared dependencies would pull a CUDA
# torch (torchvision) or ancient pins, and plgl reads only their data files (the face DCGAN's
# weights, the MOSES training set).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,bench,diffusers,train,ray,population]"
	$(PY) -m pip install --quiet --no-deps gan-face-generate==1.1.1 molsets==0.3.1
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/plgl serve

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

bench-quick: $(STAMP)
	$(VENV)/bin/plgl bench --suite all --quick --out bench-out

# The shipped weights, rebuilt from their data with fixed seeds (CPU, tens of minutes each).
melody-weights: $(STAMP)
	$(PY) scripts/prepare_melodies.py
	nice $(PY) scripts/train_melody_vae.py
	$(PY) scripts/evaluate_melodies.py

molecule-weights: $(STAMP)
	nice $(PY) scripts/prepare_molecules.py
	nice $(PY) scripts/train_molecule_vae.py
	nice $(PY) scripts/evaluate_molecules.py

grids: $(STAMP)
	$(PY) scripts/sample_grids.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
