# Berth: two commands. `make run` serves the dashboard, `make test` runs every test.
.PHONY: run test test-unit lint bench clean
# make test DB=postgres runs the suite against a private PostgreSQL cluster.
DB ?= sqlite

run:
	@scripts/run.sh

test:
	@DB=$(DB) scripts/test.sh

# The unit tier alone: pure logic, no Docker, Redis or browser, seconds.
test-unit:
	@scripts/install.sh test && .venv/bin/python -m pytest tests/unit --confcutdir=tests/unit -q

lint:
	@scripts/install.sh test && scripts/lint.sh

bench:
	@scripts/bench.sh

clean:
	rm -rf .venv data
