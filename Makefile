# Berth: two commands. `make run` serves the dashboard, `make test` runs every test.
.PHONY: run test lint bench clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

lint:
	@scripts/install.sh test && .venv/bin/ruff check .

bench:
	@scripts/bench.sh

clean:
	rm -rf .venv data
