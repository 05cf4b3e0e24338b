# Two commands do all the set-up on a fresh machine:
#   make demo   train the catch agent headless, evaluate it on 100 games, record a GIF
#   make test   run the test suite
# Each creates the virtual environment (.venv) on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export ARENA_DATA_DIR ?= $(abspath ../shared/data)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

.PHONY: install demo test bench tensorboard clean
install: $(VENV)/.installed

demo: $(VENV)/.installed
	rm -rf runs/catch  # a fresh run each time (arena train refuses to reuse a log directory without --resume)
	$(VENV)/bin/arena train catch --logdir runs/catch --out runs/catch/agent.h5
	$(VENV)/bin/arena evaluate catch --model runs/catch/agent.h5 --games 100
	$(VENV)/bin/arena watch catch --model runs/catch/agent.h5 --record runs/catch/catch.gif --games 3 --backend jax
	$(VENV)/bin/arena plot runs/catch --out runs/catch/training.png
	@echo "Logs: $(VENV)/bin/tensorboard --logdir runs   (then open http://localhost:6006)"

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -n 2 --dist loadfile

bench: $(VENV)/.installed
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

tensorboard: $(VENV)/.installed
	$(VENV)/bin/tensorboard --logdir runs

clean:
	rm -rf $(VENV) runs .pytest_cache
