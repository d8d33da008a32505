# Berth: two commands. `make run` serves the dashboard, `make test` runs every test.
.PHONY: run test test-containers lint bench clean
# make test DB=postgres runs the suite against a private PostgreSQL cluster.
DB ?= sqlite

run:
	@scripts/run.sh

test:
	@DB=$(DB) scripts/test.sh

# Berth as containers, end to end (image, compose.yaml, socket proxies) on a private engine: scripts/containers.sh.
test-containers:
	@scripts/containers.sh test

lint:
	@scripts/install.sh test && scripts/lint.sh

bench:
	@scripts/bench.sh

clean:
	rm -rf .venv data
