# Berth: two commands. `make run` serves the dashboard, `make test` runs every test.
.PHONY: run test test-unit test-containers lint bench clean api-schema api-fuzz
# make test DB=postgres runs the suite against a private PostgreSQL cluster.
DB ?= sqlite

run:
	@scripts/run.sh

test:
	@DB=$(DB) scripts/test.sh

# Berth as containers, end to end (image, compose.yaml, socket proxies) on a private engine: scripts/containers.sh.
test-containers:
	@scripts/containers.sh test

# The unit tier alone: pure logic, no Docker, Redis or browser, seconds.
test-unit:
	@scripts/install.sh test && .venv/bin/python -m pytest tests/unit --confcutdir=tests/unit -q

lint:
	@scripts/install.sh test && scripts/lint.sh

bench:
	@scripts/bench.sh

clean:
	rm -rf .venv data

# Rewrite docs/openapi.yaml from the code (tests/integration/test_api_schema.py fails until it is committed).
api-schema:
	@.venv/bin/python manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn

# The API fuzzing (Schemathesis) with many more examples than `make test` runs.
api-fuzz:
	@BERTH_FUZZ_EXAMPLES=$${BERTH_FUZZ_EXAMPLES:-200} scripts/test.sh tests/integration/test_api_fuzz.py
