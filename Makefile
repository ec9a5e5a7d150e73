# Two commands for a newcomer: `make run` and `make test`. Both install into ./.venv first if needed:
# `make install` (run, ui) what a user needs, `pip install -e .`; `make dev` (test, lint, bench,
# mutate) adds the developer extras '.[dev]' (pytest, ruff, Ray, JAX, mutmut, Selenium: GBs).
# Each has its stamp file; a changed pyproject.toml makes both install again.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PORT   ?= 5000
STORE  ?= sqlite:///$(CURDIR)/runs/mlflow.db

.PHONY: install dev run test acceptance test-all lint ui bench browser mutate clean torch

install: $(STAMP)
dev: $(DEV_STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e .
	touch $(STAMP)

# after $(STAMP): the venv exists, and a newer pyproject.toml has re-made $(STAMP) first
$(DEV_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -e '.[dev]'
	touch $(DEV_STAMP)

# PyTorch for hardware.backend=torch, CPU build (~200 MB; PyPI's default is the CUDA build).
# One retry: where download.pytorch.org cannot be reached and a mirror or wheel folder in
# pip's config has the wheel, pip's default 5 retries per package page cost 70-90 s of
# back-off before it falls back (2 s with --retries 1, measured on a fresh venv).
torch: install
	$(BIN)/python -c "import torch" 2>/dev/null || \
	  $(BIN)/pip install --retries 1 torch --index-url https://download.pytorch.org/whl/cpu

run: install
	$(BIN)/optbench $(ARGS)

# Tests in tiers (docs/testing.md): `make test` the fast one, neither `slow` (real commands,
# sweeps, servers, signals: more than a few seconds each) nor `acceptance` (result-regression
# runs: real training to an accuracy, several backends, the optimizer zoo); `make acceptance`
# those alone; `make test-all` everything in one session (what CI runs). Up to 4 workers (each
# loads TensorFlow once); PYTEST_ARGS="-n 0" runs in one process; a -m in PYTEST_ARGS picks
# other tests than the tier's.
PYTEST_ARGS ?= -n auto --maxprocesses 4 --dist worksteal --durations=25
test: dev
	$(BIN)/pytest -m "not slow and not acceptance" $(PYTEST_ARGS)

acceptance: dev
	$(BIN)/pytest -m acceptance $(PYTEST_ARGS)

test-all: dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check optbench tests bench tools hydra_plugins
	$(BIN)/ruff format --check optbench tests bench tools hydra_plugins
	$(BIN)/lint-imports  # the layer contracts in pyproject.toml [tool.importlinter]

# MLflow's server with one worker and no GenAI job runners (3 processes, not 15), then the
# link to each experiment's results (optbench/tracking/server.py)
ui: install
	mkdir -p runs
	$(BIN)/optbench ui --uri $(STORE) --host 127.0.0.1 --port $(PORT)

# each script prints its table and writes it to bench/results/<name>.md (docs/speed.md)
bench: dev
	$(BIN)/python bench/bench_sklearn_loop.py
	$(BIN)/python bench/bench_keras_fit.py  # needs MNIST (OPTBENCH_DATA_DIR or the Keras cache)
	$(BIN)/python bench/bench_keras_fit.py --backend jax  # the same on Keras's JAX backend
	$(BIN)/python bench/bench_feature_cache.py  # needs cifar10/ (OPTBENCH_DATA_DIR)
	$(BIN)/python bench/bench_joblib_sweep.py  # 8-job sweep, joblib vs basic launcher (~3 min)
	$(BIN)/python bench/bench_suite.py  # the workload suite, one optimizer and seed (~3 min)

# Mutation testing (mutmut 3, [tool.mutmut] in pyproject.toml) of the modules where a wrong
# number goes unnoticed; too slow for every CI run, so not part of `make test`. A fresh run
# (mutants/ rebuilt), then the survivors and the score per module; docs/mutation.md has the
# last results. MUTMUT_CHILDREN: parallel workers. To iterate on survivors without a fresh run:
# $(BIN)/mutmut run [names]; $(BIN)/mutmut show <name>.
MUTMUT_CHILDREN ?= 2
mutate: dev
	rm -rf mutants
	if [ -z "$$OPTBENCH_DATA_DIR" ] && [ -d ../shared/data ]; then \
	  export OPTBENCH_DATA_DIR="$$(cd ../shared/data && pwd)"; fi; \
	  $(BIN)/mutmut run --max-children $(MUTMUT_CHILDREN)
	$(BIN)/mutmut results
	@$(BIN)/mutmut results --all true | awk -F': ' \
	  '{ m = $$1; sub(/^ +/, "", m); sub(/[.]x(_|ǁ).*/, "", m); n[m]++; c[m, $$2]++ } \
	  END { for (m in n) printf "%-26s %4d mutants %4d killed %3d survived %3d other %6.1f %%\n", \
	    m, n[m], c[m, "killed"], c[m, "survived"], n[m] - c[m, "killed"] - c[m, "survived"], \
	    100 * c[m, "killed"] / n[m] }' | sort

# Debian's Chromium + ChromeDriver, for the test that renders the report's index.html headless
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

clean:
	rm -rf runs/* build dist *.egg-info
